"""The GitHub logins of the Lambda functions that write to GitHub, from their environment: the
mail function (comments, issues, files) and the outbox (reactions) log in alike, with the same
secrets and under the same rate limit per credential.

Kept apart from handler.wiring, which builds the whole inbound runtime: the outbox imports this
without the inbound pipeline (a third of a second of its cold start)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, cast

from handler.aws.lambda_runtime import LazyClient
from handler.aws.rate_limit import DynamoPostLimit
from handler.aws.secrets import Secrets, TokenSource
from handler.github.credentials import DEFAULT_API_URL, Credentials, PostLimits
from handler.github.rate_limit import Limits, PostLimit

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient


def credentials() -> Credentials:
    """Each route's GitHub login (GITHUB_TOKEN_SECRET_ARN, GITHUB_API_URL, the routes' secrets);
    what holds it caches its secrets and installation tokens."""
    secrets = Secrets(cast("SecretsManagerClient", LazyClient("secretsmanager")))
    tokens = TokenSource(secrets, os.environ.get("GITHUB_TOKEN_SECRET_ARN", ""))
    return Credentials(
        secrets,
        tokens.get,
        forget_default=tokens.forget,
        default_api_url=os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL,
    )


def limits() -> Limits:
    """POSTs per credential in any minute and any hour, 0 for no limit: GitHub's documented
    limits for content-creating requests unless set."""
    return Limits.parse(
        os.environ.get("GITHUB_POSTS_PER_MINUTE"), os.environ.get("GITHUB_POSTS_PER_HOUR")
    )


def shared_limits(client: DynamoDBClient, table: str, limits: Limits) -> PostLimits:
    """Each credential's rate limit as one item of the claims table, shared by every container
    of every function and the CLI."""

    def shared(api_url: str, identity: str) -> PostLimit:
        return DynamoPostLimit(client, table, api_url=api_url, identity=identity, limits=limits)

    return shared
