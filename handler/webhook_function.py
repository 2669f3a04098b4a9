"""AWS Lambda entry point of the webhook: ``handler.webhook_function.lambda_handler``.

Invoked through its Function URL (auth NONE: handler.service.webhook verifies GitHub's signature
and the unsubscribe links' MAC). Its configuration is the environment Terraform sets
(docs/replies.md, "Functions, queues and logs"); one JSON log line per request.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from botocore.config import Config

from handler.aws.deliveries import DynamoDeliveries
from handler.aws.lambda_runtime import DEFAULT_ROUTES, aws_client, json_logger
from handler.aws.participants import DynamoParticipants
from handler.aws.sqs import SqsQueue
from handler.aws.webhook_secret import WebhookSecret
from handler.routing import load_routes
from handler.service.webhook import Webhook, handle

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = json_logger()
# The function has 5 seconds (terraform/modules/replies/webhook.tf; GitHub waits 10): a slow
# AWS call must fail and be answered 503 (redelivered later) within them, never be cut off by the
# timeout. Two attempts of a call that cannot connect (1 s) or gets no answer (1.5 s) fail within
# about 3 s, standard mode's backoff after a timeout being under 50 ms; the other calls of the
# request take milliseconds. Should the function die all the same, the delivery id it holds is
# free again after a minute (handler.aws.deliveries.PENDING_SECONDS).
_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"}
)


@functools.cache
def runtime() -> Webhook:
    """Built on the first invocation and kept for the container's life: a delivery needs every
    client, so they are made at once."""
    table = os.environ["IDEMPOTENCY_TABLE"]
    dynamodb = aws_client("dynamodb", _CLIENT_CONFIG)
    return Webhook(
        routes=load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES),
        secret=WebhookSecret(
            aws_client("secretsmanager", _CLIENT_CONFIG),
            os.environ.get("WEBHOOK_SECRET_ARN", ""),
        ),
        deliveries=DynamoDeliveries(dynamodb, table),
        queue=SqsQueue(aws_client("sqs", _CLIENT_CONFIG), os.environ.get("WORK_QUEUE_URL", "")),
        participants=DynamoParticipants(dynamodb, table),
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(event, runtime())
