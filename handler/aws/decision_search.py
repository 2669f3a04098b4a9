"""Reading the decision log, for ``ticket-router why`` and ``decisions``: queries by day and by
index, never a scan. The CLI's only: the Lambda writes records and may not read them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.decision_log import HASH_KEY, INDEXES, RANGE_KEY, from_item, partition
from handler.aws.store import error_code
from handler.service.decision_log import (
    DecisionLogError,
    DecisionRecord,
    Filters,
    MailQuery,
    days_back,
    iso_time,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import QueryInputTypeDef


class DecisionSearch:
    """The decision table ``table``, read with the operator's credentials."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def for_mail(self, query: MailQuery) -> list[DecisionRecord]:
        """Every record of the mail ``query`` names, oldest first."""
        found: dict[tuple[str, str], DecisionRecord] = {}
        if query.message_digest is not None:
            for record in self._index("message", query.message_digest):
                found[record.day, record.id] = record
        if query.object_name is not None:
            for record in self._index("object", query.object_name):
                if query.keeps(record):
                    found[record.day, record.id] = record
        return sorted(found.values(), key=lambda record: (record.at, record.id))

    def since(self, since: float, now: float, filters: Filters) -> Iterator[DecisionRecord]:
        """The records decided from ``since`` to ``now`` that ``filters`` keeps, newest first,
        read a day's partition at a time as they are consumed."""
        start = iso_time(since)
        for day in days_back(since, now):
            request: QueryInputTypeDef = {
                "TableName": self._table,
                "KeyConditionExpression": "#day = :day AND #id >= :start",
                "ExpressionAttributeNames": {"#day": HASH_KEY, "#id": RANGE_KEY},
                "ExpressionAttributeValues": {
                    ":day": {"S": partition(day)},
                    ":start": {"S": start},
                },
                "ScanIndexForward": False,
            }
            for item in self._pages(request):
                record = from_item(item)
                if filters.keep(record):
                    yield record

    def _index(self, index: str, value: str) -> Iterator[DecisionRecord]:
        request: QueryInputTypeDef = {
            "TableName": self._table,
            "IndexName": index,
            "KeyConditionExpression": "#key = :value",
            "ExpressionAttributeNames": {"#key": INDEXES[index]},
            "ExpressionAttributeValues": {":value": {"S": value}},
        }
        for item in self._pages(request):
            yield from_item(item)

    def _pages(self, request: QueryInputTypeDef) -> Iterator[Mapping[str, Any]]:
        """Every item the query finds, page after page."""
        start: Mapping[str, Any] | None = None
        while True:
            page_request = {**request, "ExclusiveStartKey": start} if start else request
            try:
                page = self._client.query(**page_request)
            except (ClientError, BotoCoreError) as error:
                raise DecisionLogError(self._problem(error)) from None
            yield from page.get("Items", [])
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def _problem(self, error: Exception) -> str:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            return f"no decision table {self._table} in this account and region"
        return f"cannot read the decision table {self._table} ({code})"
