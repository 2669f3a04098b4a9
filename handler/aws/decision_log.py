"""The decision log's DynamoDB table (terraform/modules/decision_log), and the Lambda's writes.

Key: ``day`` (``day#2026-12-06``, the UTC date) and ``id`` (the decision's ISO time and a
digest), so that a day's decisions are one partition read in time order. Two indexes find a
mail's decisions without a scan: ``message`` on ``message_digest`` (the Message-ID's) and
``object`` on ``object_name`` (the stored object's name, SES's message id), each sorted by
``id``. A mail without a Message-ID is left out of ``message`` (DynamoDB indexes no item that
lacks the key).
DynamoDB deletes a record some time after its ``expires`` (TTL). The Lambda only puts items;
``ticket-router why`` and ``decisions`` query them (handler/aws/decision_search.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.store import error_code
from handler.service.decision_log import DecisionLogError, DecisionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The table's key, indexes (name -> hash key, each sorted by RANGE_KEY) and TTL attribute, as the
# Terraform module declares them (tests/test_decision_log.py holds the two together).
HASH_KEY = "day"
# What every partition key starts with: the function's permission names it (dynamodb:LeadingKeys).
_KEY_PREFIX = "day"
RANGE_KEY = "id"
INDEXES = {"message": "message_digest", "object": "object_name"}
TTL_ATTRIBUTE = "expires"


class DynamoDecisionLog:
    """handler.service.decision_log.DecisionLog: one PutItem per decision, kept
    ``retention_days`` after it was decided."""

    def __init__(self, client: DynamoDBClient, table: str, *, retention_days: int) -> None:
        self._client = client
        self._table = table
        self._keep_seconds = retention_days * 86400

    def record(self, records: Sequence[DecisionRecord]) -> None:
        for record in records:
            item = to_item(record, expires=int(record.at) + self._keep_seconds)
            try:
                self._client.put_item(TableName=self._table, Item=item)
            except (ClientError, BotoCoreError) as error:
                # The code only: a botocore message may quote the request.
                raise DecisionLogError(
                    f"cannot write to the decision table {self._table} ({error_code(error)})"
                ) from None


def to_item(record: DecisionRecord, *, expires: int) -> dict[str, AttributeValueTypeDef]:
    """The record as a DynamoDB item; an absent value is no attribute (an index key may not be
    empty)."""
    item: dict[str, AttributeValueTypeDef] = {
        HASH_KEY: {"S": partition(record.day)},
        RANGE_KEY: {"S": record.id},
        # When, as epoch seconds and as ISO text for whoever reads the table directly.
        "at": {"N": f"{record.at:.6f}"},
        "time": {"S": record.time},
        TTL_ATTRIBUTE: {"N": str(expires)},
        "reason": {"S": record.reason},
        "action": {"S": record.action},
        "detail": {"S": record.detail},
        "sender_authenticated": {"BOOL": record.sender_authenticated},
        "s3_bucket": {"S": record.s3_bucket},
        "s3_key": {"S": record.s3_key},
        "retryable": {"BOOL": record.retryable},
    }
    texts = {
        "route": record.route,
        "recipient_domain": record.recipient_domain,
        "sender_domain": record.sender_domain,
        "message_digest": record.message_digest,
        "object_name": record.object_name,
        "mail": record.mail,
        "ses_message_id": record.ses_message_id,
        "repo": record.repo,
        "url": record.url,
    }
    item.update({name: {"S": value} for name, value in texts.items() if value})
    if record.issue is not None:
        item["issue"] = {"N": str(record.issue)}
    return item


def partition(day: str) -> str:
    """The partition key of the UTC day ``day`` (``2026-12-06``)."""
    return f"{_KEY_PREFIX}#{day}"


def from_item(item: Mapping[str, Any]) -> DecisionRecord:
    """The record an item holds; a missing attribute reads as absent, never as an error."""

    def text(name: str) -> str:
        value = item.get(name, {}).get("S")
        return value if isinstance(value, str) else ""

    def optional(name: str) -> str | None:
        return text(name) or None

    def flag(name: str) -> bool:
        return item.get(name, {}).get("BOOL") is True

    issue = item.get("issue", {}).get("N")
    return DecisionRecord(
        at=float(item.get("at", {}).get("N", "0")),
        id=text(RANGE_KEY),
        route=optional("route"),
        reason=text("reason"),
        action=text("action"),
        detail=text("detail"),
        recipient_domain=optional("recipient_domain"),
        sender_domain=optional("sender_domain"),
        sender_authenticated=flag("sender_authenticated"),
        message_digest=optional("message_digest"),
        mail=optional("mail"),
        s3_bucket=text("s3_bucket"),
        s3_key=text("s3_key"),
        ses_message_id=optional("ses_message_id"),
        repo=optional("repo"),
        issue=int(issue) if isinstance(issue, str) and issue.isdigit() else None,
        url=optional("url"),
        retryable=flag("retryable"),
    )
