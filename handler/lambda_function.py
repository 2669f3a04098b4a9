"""AWS Lambda entry point for received mail: ``handler.lambda_function.lambda_handler``.

The mail queue's event source mapping invokes it (SES's Lambda action and S3's notifications
still may: handler.service.events), and EventBridge's daily schedule, to delete the files past
their route's retention (handler.service.attachment_upkeep). Its configuration is the
environment Terraform sets (docs/operations.md, "The mail function"); each decision is a JSON
log line and the counts are EMF metrics on the same stream.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, cast

from handler.aws.attachment_store import S3Files
from handler.aws.lambda_runtime import DEFAULT_ROUTES, LazyClient, aws_client, json_logger
from handler.aws.mail_queue import SqsVisibility
from handler.aws.s3 import MailStore
from handler.deadline import Deadline
from handler.logins import credentials, limits
from handler.routing import load_routes
from handler.service.attachment_upkeep import is_schedule, scheduled_sweep
from handler.service.claims import DEFAULT_CLAIM_TTL
from handler.service.decision_log import retention_days
from handler.service.inbound import Runtime, handle_event
from handler.service.inbound import logger as decision_logger
from handler.service.metrics import EmbeddedMetrics
from handler.wiring import DecisionTable, Tables, deployment_of, inbound_runtime

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

logger = json_logger(decision_logger.name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deadline = Deadline.of_lambda(context)
    built = runtime()
    if is_schedule(event):
        # The daily rule Terraform makes when a route keeps files on GitHub for retention_days.
        stores = built.stores
        if stores is None:
            raise RuntimeError("the runtime has no file stores")
        return scheduled_sweep(
            built.routes,
            lambda route: stores(route, deadline),
            time.time(),
            deployment=built.deployment,
        )
    return handle_event(event, built, deadline)


@functools.cache
def runtime() -> Runtime:
    """Built on the first invocation and kept for the container's life (cold start pays once)."""
    table = os.environ.get("IDEMPOTENCY_TABLE", "")
    dynamodb = cast("DynamoDBClient", LazyClient("dynamodb"))
    ttl = int(os.environ.get("IDEMPOTENCY_TTL_SECONDS") or DEFAULT_CLAIM_TTL)
    # The decision log (`ticket-router why`), kept DECISION_RETENTION_DAYS; none without a table.
    decision_table = os.environ.get("DECISION_TABLE", "")
    decisions = None
    if decision_table:
        days = retention_days(os.environ.get("DECISION_RETENTION_DAYS"))
        decisions = DecisionTable(dynamodb, decision_table, days)
    s3 = aws_client("s3")
    # The bucket of the routes that store files in S3 (Terraform's, when one does).
    files_bucket = os.environ.get("ATTACHMENTS_BUCKET", "")
    built = inbound_runtime(
        load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES),
        store=MailStore(s3),
        credentials=credentials(),
        tables=Tables(dynamodb, table, ttl) if table else None,
        limits=limits(),
        ses=cast("SESClient", LazyClient("ses")),
        # Terraform's with replies by mail: the set that publishes bounces and complaints.
        ses_configuration_set=os.environ.get("SES_CONFIGURATION_SET", ""),
        bucket=os.environ.get("MAIL_BUCKET", ""),
        prefix=os.environ.get("MAIL_PREFIX", ""),
        metrics=EmbeddedMetrics(),
        decisions=decisions,
        attachments=S3Files(s3, files_bucket) if files_bucket else None,
        deployment=deployment_of(
            os.environ.get("GITHUB_API_URL"), os.environ.get("ATTACHMENTS_URL")
        ),
    )
    return replace(
        built,
        # The mail queue's messages that must wait: made on the first that fails.
        visibility=SqsVisibility(cast("SQSClient", LazyClient("sqs"))),
        # With the table, the posting records tell which mails were ever sent to GitHub.
        search_old_mail=not table,
    )
