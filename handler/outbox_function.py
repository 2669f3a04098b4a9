"""AWS Lambda entry point of the outbox: ``handler.outbox_function.lambda_handler``.

An SQS event source on the work queue invokes it with a batch of messages: GitHub events queued
by the webhook function, and SES bounce and complaint notifications (handler.outbound.outbox). Each
message that fails is reported back as a batch item failure (the event source mapping's
ReportBatchItemFailures), so that SQS delivers only those again and, after the queue's last
retry, moves them to its dead-letter queue.

Configuration (environment):
  ROUTES_FILE              routes file (default: routes.yaml shipped beside the package)
  IDEMPOTENCY_TABLE        DynamoDB table of claims, participants and suppressed addresses
  IDEMPOTENCY_TTL_SECONDS  how long the claim of a mail sent is remembered (default 91 days)
  WEBHOOK_URL              the webhook function's URL: the base of the unsubscribe links
                           (unset: the mails offer the unsubscribe address only)
  WEBHOOK_SECRET_ARN       the webhook's secret, from which the unsubscribe links' key derives
  LOG_LEVEL                level of the log (default INFO)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from handler.aws.claims import DynamoClaims
from handler.aws.lambda_runtime import DEFAULT_ROUTES, LambdaContext, LazyClient, json_logger
from handler.aws.participants import DynamoParticipants, DynamoSuppressions
from handler.outbound.outbox import Outbox
from handler.outbound.outbox import logger as outbox_logger
from handler.outbound.unsubscribe import unsubscribe_key, unsubscribe_url
from handler.outbound.webhook import WebhookSecret
from handler.routing import load_routes
from handler.service.claims import DEFAULT_CLAIM_TTL, Claims

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = json_logger(outbox_logger.name)
processor = BatchProcessor(event_type=EventType.SQS)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outbox = runtime()
    # {"batchItemFailures": [{"itemIdentifier": <messageId>}, ...]}: the messages SQS must
    # deliver again; a message whose handling raised is one of them.
    failures = process_partial_response(
        event=event,
        record_handler=lambda record: outbox.handle(
            _body(record), lambda: context.get_remaining_time_in_millis() / 1000
        ),
        processor=processor,
    )
    return dict(failures)


def _body(record: SQSRecord) -> str:
    return record.body or ""


@functools.cache
def runtime() -> Outbox:
    """Built on the first invocation and kept for the container's life."""
    table = os.environ.get("IDEMPOTENCY_TABLE", "")
    if not table:
        # Without the table there are no participants to mail and no claims to mail them once.
        raise RuntimeError("IDEMPOTENCY_TABLE is not set: the outbox needs the claims table")
    ttl = int(os.environ.get("IDEMPOTENCY_TTL_SECONDS") or DEFAULT_CLAIM_TTL)
    dynamodb = LazyClient("dynamodb")
    secret = WebhookSecret(LazyClient("secretsmanager"), os.environ.get("WEBHOOK_SECRET_ARN", ""))
    base_url = os.environ.get("WEBHOOK_URL", "")

    def link(repo: str, issue: int, address: str) -> str | None:
        if not base_url:
            return None
        return unsubscribe_url(base_url, unsubscribe_key(secret.get()), repo, issue, address)

    def claims(remaining_time: Callable[[], float]) -> Claims:
        return DynamoClaims(table, cast("DynamoDBClient", dynamodb), expires_after_seconds=ttl)

    return Outbox(
        load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES),
        DynamoParticipants(dynamodb, table),
        DynamoSuppressions(dynamodb, table),
        claims,
        LazyClient("ses"),
        unsubscribe_url=link,
    )
