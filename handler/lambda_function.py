"""AWS Lambda entry point: ``handler.lambda_function.lambda_handler``.

Configuration (environment):
  ROUTES_FILE              routes file (default: routes.yaml shipped beside the package)
  MAIL_BUCKET, MAIL_PREFIX where SES's S3 action stores mails (for SES-invoked events)
  GITHUB_TOKEN_SECRET_ARN  Secrets Manager secret holding the GitHub token
  GITHUB_API_URL           GitHub API base (default https://api.github.com; Enterprise: .../api/v3)
  IDEMPOTENCY_TABLE        DynamoDB table of claims (one comment per mail and issue)
  IDEMPOTENCY_TTL_SECONDS  how long a claim is remembered (default 90 days)
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import boto3

from handler.github import GitHubClient, RateGate
from handler.idempotency import Claims, DynamoClaims, NoClaims
from handler.invocation import Runtime, handle_event
from handler.pipeline import Commenter
from handler.routes import load_routes
from handler.store import MailStore, TokenSource

DEFAULT_ROUTES = Path(__file__).resolve().parent.parent / "routes.yaml"
# Claims outlive the mail's retention in S3 (90 days by default), so any replay is recognised.
DEFAULT_CLAIM_TTL = 90 * 86400

logging.getLogger("ticket_router").setLevel(os.environ.get("LOG_LEVEL", "INFO"))


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_event(event, runtime(), lambda: context.get_remaining_time_in_millis() / 1000)


@functools.cache
def runtime() -> Runtime:
    """Built on the first invocation and kept for the container's life (cold start pays once)."""
    tokens = TokenSource(
        boto3.client("secretsmanager"), os.environ.get("GITHUB_TOKEN_SECRET_ARN", "")
    )
    api_url = os.environ.get("GITHUB_API_URL") or "https://api.github.com"

    gate = RateGate()

    def commenter(remaining_time: Callable[[], float]) -> Commenter:
        return GitHubClient(tokens.get(), api_url=api_url, remaining_time=remaining_time, gate=gate)

    table = os.environ.get("IDEMPOTENCY_TABLE", "")
    ttl = int(os.environ.get("IDEMPOTENCY_TTL_SECONDS") or DEFAULT_CLAIM_TTL)
    dynamodb = boto3.client("dynamodb") if table else None

    def claims(remaining_time: Callable[[], float]) -> Claims:
        if dynamodb is None:
            return NoClaims()
        return DynamoClaims(
            table, dynamodb, expires_after_seconds=ttl, remaining_time=remaining_time
        )

    return Runtime(
        routes=load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES),
        store=MailStore(boto3.client("s3")),
        commenter=commenter,
        claims=claims,
        bucket=os.environ.get("MAIL_BUCKET", ""),
        prefix=os.environ.get("MAIL_PREFIX", ""),
    )
