"""AWS Lambda entry point: ``handler.lambda_function.lambda_handler``.

Configuration (environment):
  ROUTES_FILE              routes file (default: routes.yaml shipped beside the package)
  MAIL_BUCKET, MAIL_PREFIX where SES's S3 action stores mails (for SES-invoked events)
  GITHUB_TOKEN_SECRET_ARN  Secrets Manager secret holding the GitHub token of the routes that
                           name no credential of their own (token_secret, github_app)
  GITHUB_API_URL           GitHub API base of the routes without api_url (default
                           https://api.github.com; Enterprise Server: https://HOST/api/v3)
  IDEMPOTENCY_TABLE        DynamoDB table of claims (one comment per mail and issue, one new
                           issue per mail and repository)
  IDEMPOTENCY_TTL_SECONDS  how long a claim is remembered (default 91 days)
                           (the table also holds the daily limit of notices to senders: routes
                           with notify or confirm send them through SES, see
                           handler.outbound.notices,
                           the thread map of issues opened by mail, handler.inbound.threads, and the
                           mail participants of issues and suppressed addresses,
                           handler.outbound.participants)
  LOG_LEVEL                level of the decision log (default INFO; WARNING keeps failures only)
  POWERTOOLS_METRICS_NAMESPACE, POWERTOOLS_METRICS_DISABLED  read by handler.service.metrics: the
                           metrics' namespace (default TicketRouter); "true" publishes none

Logs are JSON lines on stdout, one per decision (handler.service.inbound), written by Powertools'
Logger with the invocation's request id, cold start and X-Ray trace id; the metrics are EMF
lines on the same stream (handler.service.metrics), flushed once per invocation.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import boto3

from handler.aws.lambda_runtime import DEFAULT_ROUTES, LambdaContext, LazyClient, json_logger
from handler.aws.secrets import Secrets, TokenSource
from handler.aws.store import MailStore
from handler.github.credentials import Credentials, GitHubClients
from handler.inbound.threads import DynamoThreads, NoThreads, Threads
from handler.outbound.notices import Notifier
from handler.outbound.participants import (
    DynamoParticipants,
    DynamoSuppressions,
    NoParticipants,
    Participants,
)
from handler.routing import load_routes
from handler.service.claims import DEFAULT_CLAIM_TTL, Claims, DynamoClaims, NoClaims
from handler.service.inbound import Runtime, handle_event
from handler.service.inbound import logger as decision_logger
from handler.service.metrics import EmbeddedMetrics

logger = json_logger(decision_logger.name)


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event, runtime(), lambda: context.get_remaining_time_in_millis() / 1000)


@functools.cache
def runtime() -> Runtime:
    """Built on the first invocation and kept for the container's life (cold start pays once)."""
    secrets = Secrets(LazyClient("secretsmanager"))
    tokens = TokenSource(secrets, os.environ.get("GITHUB_TOKEN_SECRET_ARN", ""))
    credentials = Credentials(
        secrets,
        tokens.get,
        forget_default=tokens.forget,
        default_api_url=os.environ.get("GITHUB_API_URL") or "https://api.github.com",
    )

    table = os.environ.get("IDEMPOTENCY_TABLE", "")
    ttl = int(os.environ.get("IDEMPOTENCY_TTL_SECONDS") or DEFAULT_CLAIM_TTL)
    dynamodb = LazyClient("dynamodb") if table else None
    threads: Threads = (
        DynamoThreads(dynamodb, table, expires_after_seconds=ttl)
        if dynamodb is not None
        else NoThreads()
    )
    participants: Participants = (
        DynamoParticipants(dynamodb, table) if dynamodb is not None else NoParticipants()
    )

    def claims(remaining_time: Callable[[], float]) -> Claims:
        if dynamodb is None:
            return NoClaims()
        return DynamoClaims(
            table, dynamodb, expires_after_seconds=ttl, remaining_time=remaining_time
        )

    routes = load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES)
    # Notices need the table for their daily limit; without one, nobody is told rather than
    # everyone told on every delivery.
    notifier = None
    if dynamodb is not None and any(route.notify or route.confirm for route in routes.routes):
        notifier = Notifier(
            LazyClient("ses"),
            dynamodb,
            table,
            scoped_ttl_seconds=ttl,
            suppressions=DynamoSuppressions(dynamodb, table),
        )

    return Runtime(
        routes=routes,
        store=MailStore(boto3.client("s3")),
        commenter=GitHubClients(credentials),
        claims=claims,
        bucket=os.environ.get("MAIL_BUCKET", ""),
        prefix=os.environ.get("MAIL_PREFIX", ""),
        metrics=EmbeddedMetrics(),
        notifier=notifier,
        threads=threads,
        participants=participants,
    )
