"""The adapters plugged into the inbound service, in one place: the Lambda and the CLI build the
same runtime from the same settings, so a replay runs what the Lambda runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from handler.attachments.layout import web_host
from handler.attachments.model import Deployment
from handler.attachments.stores import BucketFiles, Stores
from handler.aws.claims import DynamoClaims
from handler.aws.decision_log import DynamoDecisionLog
from handler.aws.notices import SesNotifier
from handler.aws.participants import DynamoAuthors, DynamoParticipants, DynamoSuppressions
from handler.aws.postings import DynamoPostings
from handler.aws.threads import DynamoThreads
from handler.deadline import Deadline
from handler.github.credentials import Credentials, GitHubClients, PostLimits
from handler.github.rate_limit import Limits, MemoryPostLimit
from handler.logins import shared_limits
from handler.routing import Route, Routes
from handler.service.claims import DEFAULT_CLAIM_TTL
from handler.service.decision_log import DEFAULT_RETENTION_DAYS
from handler.service.inbound import Fetcher, Runtime
from handler.service.metrics import Metrics, NoMetrics

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_ses import SESClient


@dataclass(frozen=True)
class Tables:
    """The DynamoDB table of claims, thread map, participants and notice limits."""

    client: DynamoDBClient
    name: str
    # How long a claim, and a thread map entry, is remembered.
    ttl_seconds: int = DEFAULT_CLAIM_TTL


@dataclass(frozen=True)
class DecisionTable:
    """The DynamoDB table of the decision log (terraform/modules/decision_log)."""

    client: DynamoDBClient
    name: str
    # How long a decision is kept: DynamoDB deletes it some time after.
    retention_days: int = DEFAULT_RETENTION_DAYS


def inbound_runtime(
    routes: Routes,
    *,
    store: Fetcher,
    credentials: Credentials,
    tables: Tables | None,
    limits: Limits | None = None,
    ses: SESClient | None = None,
    ses_configuration_set: str = "",
    bucket: str = "",
    prefix: str = "",
    metrics: Metrics | None = None,
    decisions: DecisionTable | None = None,
    attachments: BucketFiles | None = None,
    deployment: Deployment | None = None,
) -> Runtime:
    """The inbound runtime; without ``tables`` nothing is claimed, threaded, recorded or
    noticed (a notice's daily limit lives in the table: nobody is told rather than everyone on
    every delivery), and each credential's rate limit (``limits``, GitHub's by default) and the
    posting records are this process's own. Notices go through ``ses`` and the configuration
    set ``ses_configuration_set`` ("" for none). Each decision is kept in ``decisions``, the
    decision log, when given. A linking route's files go to its GitHub credential's
    repositories, or to ``attachments``, the deployment's bucket, that ``deployment`` says
    where files are served from."""
    github = GitHubClients(credentials, post_limits(tables, limits or Limits()))
    decision_log = None
    if decisions is not None:
        decision_log = DynamoDecisionLog(
            decisions.client, decisions.name, retention_days=decisions.retention_days
        )
    runtime = Runtime(
        routes,
        store,
        github,
        bucket=bucket,
        prefix=prefix,
        metrics=metrics or NoMetrics(),
        decision_log=decision_log,
        stores=attachment_stores(github, attachments),
        deployment=deployment or Deployment(),
    )
    if tables is None:
        return runtime
    client, table, ttl = tables.client, tables.name, tables.ttl_seconds
    notifier = None
    if ses is not None and routes.any_route(lambda route: route.notify or route.confirm):
        notifier = SesNotifier(
            ses,
            client,
            table,
            scoped_ttl_seconds=ttl,
            suppressions=DynamoSuppressions(client, table),
            configuration_set=ses_configuration_set,
        )
    return replace(
        runtime,
        claims=DynamoClaims(table, client, expires_after_seconds=ttl),
        postings=DynamoPostings(client, table, expires_after_seconds=ttl),
        threads=DynamoThreads(client, table, expires_after_seconds=ttl),
        participants=DynamoParticipants(client, table),
        authors=DynamoAuthors(client, table),
        notifier=notifier,
    )


def post_limits(tables: Tables | None, limits: Limits) -> PostLimits:
    """Each credential's rate limit: one item in the table, shared by every container and the
    CLI, or this process's own without a table."""
    if tables is None:
        return lambda api_url, identity: MemoryPostLimit(limits)
    return shared_limits(tables.client, tables.name, limits)


def attachment_stores(
    github: GitHubClients, bucket: BucketFiles | None
) -> Callable[[Route, Deadline], Stores]:
    """Where each route's files go: the repositories of its GitHub credential, logged in on first
    use and under the rate limit its comments share (an upload is a content-creating request),
    and the deployment's attachments bucket, if any."""

    def stores(route: Route, deadline: Deadline) -> Stores:
        settings = route.attachments
        # A GitHub App commits with a token of its own, Contents: write on the repository the
        # files go to; the bucket's routes only ask who can read the repository.
        where = (settings.repository or route.repo) if settings.storage == "github" else None
        return Stores(lambda: github(route, deadline, files=where).files(), bucket)

    return stores


def deployment_of(api_url: str | None, attachments_url: str | None) -> Deployment:
    """Where the plan says stored files are: the web host of the deployment's GitHub API
    (GITHUB_API_URL), and the attachments bucket's base URL (ATTACHMENTS_URL, CloudFront's;
    "" or None without a bucket). The Lambda and the CLI read both from their environment."""
    return Deployment(
        github_web=web_host(api_url or None, Deployment.github_web),
        s3_base=(attachments_url or "").strip().rstrip("/"),
    )
