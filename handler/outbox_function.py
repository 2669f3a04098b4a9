"""AWS Lambda entry point of the outbox: ``handler.outbox_function.lambda_handler``.

The work queue's SQS event source invokes it with GitHub events the webhook queued and SES
feedback; handler.service.outbox mails the participants and reports failed messages back to SQS.
Its configuration is the environment Terraform sets (docs/replies.md, "Functions, queues and
logs").
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from handler.aws.claims import SENT_KEY_PREFIX, DynamoClaims
from handler.aws.lambda_runtime import DEFAULT_ROUTES, LazyClient, json_logger
from handler.aws.participants import DynamoAuthors, DynamoParticipants, DynamoSuppressions
from handler.aws.reach import DynamoSentMail
from handler.aws.ses import CLIENT_CONFIG, CONNECT_TIMEOUT, READ_TIMEOUT, SesMailer
from handler.aws.webhook_secret import WebhookSecret
from handler.deadline import Deadline, LambdaClock
from handler.github.credentials import GitHubClients
from handler.github.reactions import RouteReactions
from handler.logins import credentials, limits, shared_limits
from handler.outbound.outbox import GITHUB_API_URL
from handler.outbound.unsubscribe import UnsubscribeLinks
from handler.routing import load_routes
from handler.service.claims import DEFAULT_CLAIM_TTL
from handler.service.outbox import DEFAULT_CLAIM_HOLD, Outbox, handle_batch
from handler.service.outbox import logger as outbox_logger

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ses import SESClient

logger = json_logger(outbox_logger.name)

# The longest a send may take: SES's connect and read timeouts (one attempt), and the claim's
# writes. A send the function's timeout cut short would hold its claim for CLAIM_HOLD_SECONDS.
_SEND_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT + 5


@functools.cache
def runtime() -> Outbox:
    """Built on the first invocation and kept for the container's life."""
    table = os.environ.get("IDEMPOTENCY_TABLE", "")
    if not table:
        # Without the table there are no participants to mail and no claims to mail them once.
        raise RuntimeError("IDEMPOTENCY_TABLE is not set: the outbox needs the claims table")
    ttl = int(os.environ.get("IDEMPOTENCY_TTL_SECONDS") or DEFAULT_CLAIM_TTL)
    # Terraform sets it from the work queue: visibility timeout x receives + the timeout.
    hold = int(os.environ.get("CLAIM_HOLD_SECONDS") or DEFAULT_CLAIM_HOLD)
    if hold <= 0:
        raise RuntimeError("CLAIM_HOLD_SECONDS must be a positive number of seconds")
    # Each made on first use (a LazyClient), typed as the client it stands for.
    dynamodb = cast("DynamoDBClient", LazyClient("dynamodb"))
    secrets = cast("SecretsManagerClient", LazyClient("secretsmanager"))
    secret = WebhookSecret(secrets, os.environ.get("WEBHOOK_SECRET_ARN", ""))
    # Reach: the reactions on the mailed comments, with the mail function's logins and under the
    # rate limit its posts share.
    github = GitHubClients(credentials(), shared_limits(dynamodb, table, limits()))
    return Outbox(
        load_routes(os.environ.get("ROUTES_FILE") or DEFAULT_ROUTES),
        DynamoParticipants(dynamodb, table),
        DynamoSuppressions(dynamodb, table),
        DynamoClaims(table, dynamodb, expires_after_seconds=ttl, key_prefix=SENT_KEY_PREFIX),
        # The configuration set that publishes the mails' bounces and complaints to the work queue.
        SesMailer(
            cast("SESClient", LazyClient("ses", CLIENT_CONFIG)),
            os.environ.get("SES_CONFIGURATION_SET", ""),
        ),
        unsubscribe_url=UnsubscribeLinks(os.environ.get("WEBHOOK_URL", ""), secret),
        authors=DynamoAuthors(dynamodb, table),
        github_api_url=os.environ.get("GITHUB_API_URL") or GITHUB_API_URL,
        claim_hold=hold,
        reactions=RouteReactions(github),
        sent=DynamoSentMail(dynamodb, table),
    )


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, runtime(), sending_deadline(context))


def sending_deadline(context: LambdaClock, clock: Callable[[], float] = time.monotonic) -> Deadline:
    """When the last send may start: the invocation's end less a send's longest time, or its
    half-way mark for a timeout shorter than twice that."""
    left = context.get_remaining_time_in_millis() / 1000
    return Deadline.within(max(left - _SEND_SECONDS, left / 2), clock)
