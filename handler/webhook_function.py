"""AWS Lambda entry point of the webhook: ``handler.webhook_function.lambda_handler``.

Invoked through its Function URL (auth NONE: handler.outbound.webhook verifies GitHub's signature
and
the unsubscribe links' mac) with payload format 2.0 events; answers in the Function URL's
response shape. One JSON log line per request (handler.outbound.webhook.Outcome.log): never a body.

Configuration (environment):
  ROUTES_FILE         routes file (default: routes.yaml shipped beside the package)
  WEBHOOK_SECRET_ARN  Secrets Manager secret holding the master webhook secret (bare, or JSON
                      {"secret": "..."}); the secrets GitHub signs with (one per owner or app,
                      handler.outbound.webhook.owner_secret and app_secret) and the unsubscribe
                      links'
                      key derive from it
  WORK_QUEUE_URL      the SQS queue the outbox function reads
  IDEMPOTENCY_TABLE   DynamoDB claims table: delivery ids seen, and the participants that
                      unsubscribe links remove
  LOG_LEVEL           level of the log (default INFO; WARNING keeps failures only)
"""

from __future__ import annotations

import base64
import functools
import os
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from handler.aws.lambda_runtime import DEFAULT_ROUTES, LambdaContext, json_logger
from handler.aws.participants import DynamoParticipants
from handler.outbound.webhook import (
    DynamoDeliveries,
    Outcome,
    Request,
    Response,
    SqsQueue,
    WebhookSecret,
    receive,
)
from handler.routing import Routes, load_routes

logger = json_logger()
# The function has 5 seconds (terraform/modules/replies/webhook.tf; GitHub waits 10): a slow
# AWS call must fail and be answered 503 (redelivered later) within them, never be cut off by the
# timeout. Two attempts of a call that cannot connect (1 s) or gets no answer (1.5 s) fail within
# about 3 s, standard mode's backoff after a timeout being under 50 ms; the other calls of the
# request take milliseconds. Should the function die all the same, a pending delivery claim
# lapses after a minute (handler.outbound.webhook.PENDING_SECONDS).
_CLIENT_CONFIG = Config(
    connect_timeout=1, read_timeout=1.5, retries={"total_max_attempts": 2, "mode": "standard"}
)


@dataclass(frozen=True)
class Runtime:
    routes: Routes
    secret: WebhookSecret
    deliveries: DynamoDeliveries
    queue: SqsQueue
    participants: DynamoParticipants


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    outcome = handle(event, runtime())
    if outcome.response.status >= 500:
        logger.warning("webhook", extra=outcome.log)
    else:
        logger.info("webhook", extra=outcome.log)
    return _function_url_response(outcome.response)


def handle(event: dict[str, Any], runtime: Runtime) -> Outcome:
    """The outcome of one Function URL event."""
    return receive(
        _request(event),
        secret=runtime.secret,
        routes=runtime.routes,
        deliveries=runtime.deliveries,
        queue=runtime.queue,
        participants=runtime.participants,
    )


@functools.cache
def runtime() -> Runtime:
    """Built on the first invocation and kept for the container's life (cold start pays once)."""
    table = os.environ["IDEMPOTENCY_TABLE"]
    dynamodb = boto3.client("dynamodb", config=_CLIENT_CONFIG)
    return Runtime(
        routes=load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES),
        secret=WebhookSecret(
            boto3.client("secretsmanager", config=_CLIENT_CONFIG),
            os.environ.get("WEBHOOK_SECRET_ARN", ""),
        ),
        deliveries=DynamoDeliveries(dynamodb, table),
        queue=SqsQueue(
            boto3.client("sqs", config=_CLIENT_CONFIG), os.environ.get("WORK_QUEUE_URL", "")
        ),
        participants=DynamoParticipants(dynamodb, table),
    )


def _request(event: dict[str, Any]) -> Request:
    """The Function URL event (payload format 2.0) as a Request."""
    http = event.get("requestContext", {}).get("http", {})
    body = event.get("body") or ""
    # Lambda base64-encodes bodies that are not text by their content type; the signature is
    # over the bytes GitHub sent.
    raw = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    return Request(
        method=str(http.get("method", "")).upper(),
        path=event.get("rawPath") or "/",
        query=event.get("rawQueryString") or "",
        headers={str(name).lower(): str(value) for name, value in event.get("headers", {}).items()},
        body=raw,
    )


def _function_url_response(response: Response) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "headers": dict(response.headers),
        "body": response.body,
        "isBase64Encoded": False,
    }
