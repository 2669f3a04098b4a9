"""DynamoDB as the claim tests need it from moto."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handler.aws.decision_log import HASH_KEY, INDEXES, RANGE_KEY

CLAIMS_TABLE = "claims"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """moto's DynamoDB with the claims table Terraform creates (key ``id``)."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("dynamodb", region_name="eu-west-1")
        create_claims_table(client)
        yield client


def create_claims_table(client: Any, name: str = CLAIMS_TABLE) -> None:
    """The claims table as Terraform creates it (terraform/modules/idempotency_store): key
    ``id``, on demand."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


class Atomic:
    """A DynamoDB client whose calls run one at a time.

    DynamoDB applies a conditional write atomically; moto's in-memory table does not when
    threads race, so without this the test would measure moto, not the claims.
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)
        if not callable(method):
            return method

        def locked(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return method(*args, **kwargs)

        return locked


DECISION_TABLE = "decisions"


def create_decision_table(client: Any, name: str = DECISION_TABLE) -> None:
    """The decision log's table from the layout handler/aws/decision_log.py declares
    (tests/test_decision_log.py checks that terraform/modules/decision_log declares the same)."""
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": HASH_KEY, "KeyType": "HASH"},
            {"AttributeName": RANGE_KEY, "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": attribute, "AttributeType": "S"}
            for attribute in sorted({HASH_KEY, RANGE_KEY, *INDEXES.values()})
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": key, "KeyType": "HASH"},
                    {"AttributeName": RANGE_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, key in INDEXES.items()
        ],
        BillingMode="PAY_PER_REQUEST",
    )
