"""Notices to senders sent through SES v1, at most one per (sender, reason) and UTC day, the
limit a conditional write in the claims table."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.ses import raw_email
from handler.aws.store import error_code
from handler.outbound.notices import Notice, NoticeOutcome, notice_key, render_notice
from handler.outbound.participants import ParticipantStoreError, Suppressions

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient

logger = logging.getLogger("ticket_router")

# A notice key lives two days: long enough to cover its UTC day wherever the clock started.
_KEY_TTL_SECONDS = 2 * 86400


class SesNotifier:
    """handler.outbound.notices.Notifier: one notice per (sender, reason) and UTC day, and one
    confirmation per issue opened for as long as a claim lives (``scoped_ttl_seconds``), so that
    a replay weeks later confirms nothing again. Sent from the very address the sender wrote to
    (a route domain, an SES identity of ours), through ``configuration_set`` ("" for none);
    never to an address that bounced or complained."""

    def __init__(
        self,
        ses: SESClient,
        dynamodb: DynamoDBClient,
        table: str,
        *,
        scoped_ttl_seconds: int,
        clock: Callable[[], float] = time.time,
        suppressions: Suppressions | None = None,
        configuration_set: str = "",
    ) -> None:
        self._suppressions = suppressions
        self._configuration_set = configuration_set
        self._ses = ses
        self._dynamodb = dynamodb
        self._table = table
        self._clock = clock
        self._scoped_ttl = scoped_ttl_seconds

    def send(self, notice: Notice) -> NoticeOutcome:
        """``sent``, ``rate-limited`` (already told today), ``suppressed`` (the address bounced
        or complained) or ``failed`` (logged)."""
        if self._suppressions is not None:
            try:
                if self._suppressions.suppressed([notice.to]):
                    return "suppressed"
            except ParticipantStoreError as error:
                return _failed(notice, "suppression store", error)
        now = self._clock()
        key = notice_key(notice, now)
        ttl = self._scoped_ttl if notice.scope else _KEY_TTL_SECONDS
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": key},
                    "expiration": {"N": str(int(now) + ttl)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return "rate-limited"
            return _failed(notice, "rate-limit store", error)
        except BotoCoreError as error:
            return _failed(notice, "rate-limit store", error)
        raw = render_notice(notice, now=now, domain=notice.from_.rpartition("@")[2])
        try:
            self._ses.send_raw_email(
                **raw_email(notice.from_, notice.to, raw, self._configuration_set)
            )
        except (ClientError, BotoCoreError) as error:
            return _failed(notice, "SES", error)
        return "sent"


def _failed(notice: Notice, what: str, error: Exception) -> Literal["failed"]:
    # The error's class and code only: a botocore message may quote the request (the address).
    code = error_code(error)
    logger.warning(
        "notice not sent",
        extra={"notice_reason": notice.reason, "notice_failure": f"{what}: {code}"},
    )
    return "failed"
