"""Command line: ``ticket-router check|dispatch|replay|why|decisions|webhook-secret|attachments|
participants``, or ``python -m handler``.

Exit status: 0 every mail got a decision (a rejection is a decision); 1 a mail could not be read
(or a file given to dispatch is not a mail), a post failed for a reason worth retrying, or
handling a mail failed unexpectedly (the other mails are still handled), or ``why`` found
nothing recorded, or ``attachments`` could not remove a place's files; 2 the command itself
cannot run (bad routes file, no token at all, bad arguments, no master secret, no decision
table), or ``participants`` cannot read the table. The commands: docs/operations.md.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO, cast

import boto3
from botocore.exceptions import NoRegionError

from handler import __version__
from handler.attachments.model import Deployment
from handler.attachments.stores import BucketFiles
from handler.aws.attachment_store import S3Files
from handler.aws.decision_search import DecisionSearch
from handler.aws.failure_queue import SqsFailureQueue
from handler.aws.lambda_runtime import LazyClient
from handler.aws.participants import DynamoParticipants, DynamoSuppressions
from handler.aws.s3 import MailStore
from handler.aws.secrets import Secrets
from handler.aws.store import StoreError
from handler.aws.webhook_secret import WebhookSecret
from handler.deadline import Deadline
from handler.github.credentials import Credentials, GitHubClients
from handler.github.rate_limit import Limits
from handler.inbound.masking import masked, masked_words
from handler.inbound.plan import Decision, IssueDraft
from handler.outbound.errors import OutboundError
from handler.outbound.participants import ParticipantStoreError
from handler.outbound.signatures import app_secret, owner_secret
from handler.reasons import Reason
from handler.routing import (
    GITHUB_LOGIN,
    MAX_ISSUE_NUMBER,
    REPO_FULL_NAME,
    Routes,
    RoutesError,
    RoutesUnreadable,
    load_routes,
)
from handler.routing.domains import normalize_domain
from handler.service.attachment_upkeep import MAIL_KEY, RouteStores, Upkeep, remove, sweep
from handler.service.claims import DEFAULT_CLAIM_TTL
from handler.service.decision_log import (
    DecisionLogError,
    Filters,
    as_json,
    describe,
    iso_time,
    mail_query,
    parse_since,
    retention_days,
    summary,
)
from handler.service.events import MailRef
from handler.service.inbound import Fetcher, Receiver, Runtime
from handler.service.participants_report import address_row, conversation_rows
from handler.service.replay import (
    ARRIVAL_UNKNOWN,
    MAIL_BUDGET_SECONDS,
    MailReplay,
    QueueError,
    key_ref,
    needs_attention,
    replay_keys,
    replay_queue,
)
from handler.wiring import (
    DecisionTable,
    Tables,
    attachment_stores,
    deployment_of,
    inbound_runtime,
    post_limits,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ses import SESClient
    from mypy_boto3_sqs import SQSClient

# The routes file in the working directory (the Lambda reads the one packaged in its zip).
_ROUTES_HERE = "routes.yaml"


_NO_GITHUB_LOGIN = (
    "GITHUB_TOKEN is not set: export a token that may comment on the routed repositories "
    "(routes with token_secret or github_app need none)"
)
# What ``participants`` is about: owner/repo#45.
_ISSUE_REF = re.compile(rf"(?P<repo>{REPO_FULL_NAME.pattern})#(?P<number>[1-9][0-9]{{0,9}})")
# An address as --address takes it: one @, no spaces, something on both sides.
_ADDRESS = re.compile(r"[^@\s]+@[^@\s]+")
# Where SES's S3 action stores mail in the Terraform deployment (its MAIL_PREFIX).
DEFAULT_PREFIX = "inbound/"
_SQS_HOST = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")
# Time the files of one place (a branch, the bucket) may take to list and delete, rate-limit
# waits included: a mail's budget.
_PLACE_BUDGET_SECONDS = MAIL_BUDGET_SECONDS


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check":
        return _check(args.routes)
    if args.command == "replay":
        return _replay(args)
    if args.command == "webhook-secret":
        return _webhook_secret(args)
    if args.command == "why":
        return _why(args)
    if args.command == "decisions":
        return _decisions(args)
    if args.command == "attachments":
        return _attachments(args)
    if args.command == "participants":
        return _participants(args)
    return _dispatch(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ticket-router",
        description="Route mail received by Amazon SES to GitHub issue comments.",
    )
    parser.add_argument("--version", action="version", version=f"ticket-router {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("check", help="validate a routes file")
    check.add_argument("routes", nargs="?", default=_ROUTES_HERE, help="default: %(default)s")

    dispatch = commands.add_parser(
        "dispatch", help="process stored mails (.eml) as the Lambda would"
    )
    dispatch.add_argument("--routes", default=_ROUTES_HERE, help="default: %(default)s")
    _recipient_option(dispatch)
    _claims_option(dispatch)
    dispatch.add_argument(
        "--dry-run", action="store_true", help="decide and render only: no token, no network"
    )
    dispatch.add_argument(
        "--assume-authenticated",
        action="store_true",
        help="with --dry-run: judge a mail without SES's header block (one written by hand) as "
        "if SES had authenticated its From domain and received it for its To and Cc addresses "
        "at the routes' domains; each decision that rests on it says so",
    )
    dispatch.add_argument("--json", action="store_true", help="one JSON object per decision")
    dispatch.add_argument("files", nargs="+", metavar="FILE.eml", help="'-' reads standard input")

    replay = commands.add_parser(
        "replay",
        help="process mails stored in S3 again, by key or from a dead-letter queue",
        description="Mails already posted are reported as already-posted, never posted twice.",
    )
    replay.add_argument("--routes", default=_ROUTES_HERE, help="default: %(default)s")
    replay.add_argument(
        "--bucket",
        default=os.environ.get("MAIL_BUCKET", ""),
        help="bucket SES stores mail in (default: $MAIL_BUCKET)",
    )
    replay.add_argument(
        "--prefix",
        default=os.environ.get("MAIL_PREFIX", DEFAULT_PREFIX),
        help="key prefix of stored mail (default: $MAIL_PREFIX, else %(default)s)",
    )
    _recipient_option(replay)
    _claims_option(replay)
    replay.add_argument(
        "--dry-run",
        action="store_true",
        help="decide and render only: no token, no GitHub, no claims, no deletes",
    )
    replay.add_argument("--json", action="store_true", help="one JSON object per decision")
    replay.add_argument(
        "--dlq",
        metavar="QUEUE_URL",
        help="replay every mail named by the messages of this queue: the failure queue, or the "
        "mail queue's dead-letter queue",
    )
    replay.add_argument(
        "--delete",
        action="store_true",
        help="with --dlq: delete a message once each of its mails got a final decision",
    )
    replay.add_argument("--max", type=int, metavar="N", help="with --dlq: read at most N messages")
    _decision_table_option(replay, "also record the replay's decisions in it")
    replay.add_argument(
        "keys",
        nargs="*",
        metavar="KEY",
        help="S3 key, bare SES message id (prefixed with --prefix) or s3://BUCKET/KEY",
    )

    why = commands.add_parser(
        "why",
        help="print every decision recorded for a mail",
        description="Looks the mail up in the decision log: oldest decision first.",
    )
    why.add_argument(
        "mail",
        metavar="MAIL",
        help="the mail's Message-ID (with or without <>), its SES message id, its S3 key or "
        "s3://BUCKET/KEY",
    )
    _decision_table_option(why)
    why.add_argument("--json", action="store_true", help="one JSON object per decision")

    listing = commands.add_parser(
        "decisions",
        help="list the decisions recorded since a time, newest first",
        description="Reads the decision log a day at a time; the filters combine.",
    )
    listing.add_argument(
        "--since",
        default="24h",
        help="a duration back from now (90m, 24h, 7d) or an ISO time (default: %(default)s)",
    )
    listing.add_argument(
        "--route", metavar="ROUTE", help="only this route: web-@issues.example.com, or a domain"
    )
    listing.add_argument("--reason", metavar="CODE", help="only this reason code (docs/reasons.md)")
    listing.add_argument("--domain", metavar="DOMAIN", help="only mail from this sender domain")
    listing.add_argument(
        "--limit", type=int, default=1000, metavar="N", help="at most N (default: %(default)s)"
    )
    _decision_table_option(listing)
    listing.add_argument("--json", action="store_true", help="one JSON object per decision")

    secret = commands.add_parser(
        "webhook-secret",
        help="print the webhook secret to give GitHub for an owner's repositories or an App",
        description=(
            "Derived from the master secret in Secrets Manager: with several owners, each "
            "owner's webhooks get their own, which signs deliveries about that owner's "
            "repositories only, and the master stays out of GitHub."
        ),
    )
    secret.add_argument(
        "--secret-id",
        default=os.environ.get("WEBHOOK_SECRET_ARN", ""),
        help="the master's secret (default: $WEBHOOK_SECRET_ARN; terraform output "
        "webhook_secret_arn)",
    )
    whose = secret.add_mutually_exclusive_group(required=True)
    whose.add_argument("--owner", help="user or organization owning the repositories")
    whose.add_argument("--app", type=int, metavar="APP_ID", help="GitHub App id (its webhook)")
    _attachments_parser(commands)
    _participants_parser(commands)
    return parser


def _attachments_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    files = commands.add_parser(
        "attachments",
        help="remove a mail's stored files, or those past their route's retention_days",
    )
    actions = files.add_subparsers(dest="upkeep", metavar="{remove,sweep}", required=True)
    remove = actions.add_parser(
        "remove",
        help="delete every file of a mail that its routes stored",
        description=(
            "Deletes the mail's files from the branches and the bucket its linking routes store "
            "in: the links and images of its comments stop working. The comments stay as they "
            "are (edit them on GitHub), and a file stays in the branch's history."
        ),
    )
    remove.add_argument(
        "mail",
        metavar="MAIL",
        help="the mail key (32 hex digits: the ticket-router:mail marker of its comment), or "
        "what `why` takes: its Message-ID, SES message id, S3 key or s3://BUCKET/KEY, looked "
        "up in the decision log",
    )
    remove.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="OWNER/NAME",
        help="a repository the mail was posted to (repeatable; default: those the decision log "
        "names, or for a mail key every repository a linking route posts to)",
    )
    _upkeep_options(remove)
    remove.add_argument(
        "--bucket",
        default=os.environ.get("ATTACHMENTS_BUCKET", ""),
        help="the attachments bucket, for routes storing in S3 (default: $ATTACHMENTS_BUCKET)",
    )
    _decision_table_option(remove, "where MAIL is looked up unless it is a mail key")
    swept = actions.add_parser(
        "sweep",
        help="delete now the files past their route's retention_days",
        description=(
            "What the mail function does once a day: on each branch a route with retention_days "
            "stores in, the files of mails received more than that many days ago are deleted. "
            "Files in S3 expire by the bucket's lifecycle rule."
        ),
    )
    _upkeep_options(swept)


def _participants_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser(
        "participants",
        help="list who an issue's mail reaches: subscribed, unsubscribed or suppressed",
        description=(
            "Reads the issue's participants from the claims table, and which of them are "
            "suppressed (bounced or complained). Addresses are shown masked (a…@example.com) "
            "and by digest, as the unsubscribe links name them; never whole."
        ),
    )
    listing.add_argument("issue", metavar="OWNER/REPO#NUMBER", help="e.g. example-org/website#45")
    listing.add_argument(
        "--table",
        default=os.environ.get("IDEMPOTENCY_TABLE", ""),
        help="the claims table that keeps the participants (default: $IDEMPOTENCY_TABLE; "
        "terraform output idempotency_table)",
    )
    listing.add_argument(
        "--address",
        metavar="ADDR",
        help="only the state of this address for the issue",
    )
    listing.add_argument("--json", action="store_true", help="one JSON object per participant")


def _participants(args: argparse.Namespace) -> int:
    command = "ticket-router participants"
    found = _ISSUE_REF.fullmatch(args.issue.strip())
    if found is None or int(found["number"]) > MAX_ISSUE_NUMBER:
        shown = masked_words(args.issue) or args.issue
        print(f"{command}: error: {shown!r} is not owner/repo#number", file=sys.stderr)
        return 2
    if args.address is not None and not _ADDRESS.fullmatch(args.address.strip()):
        print(
            f"{command}: error: --address {masked(args.address)!r} is not an address",
            file=sys.stderr,
        )
        return 2
    if not args.table:
        print(
            f"{command}: error: no table: give --table or set IDEMPOTENCY_TABLE "
            "(terraform output -raw idempotency_table)",
            file=sys.stderr,
        )
        return 2
    try:
        client = boto3.client("dynamodb")
    except NoRegionError:
        print(
            f"{command}: error: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION",
            file=sys.stderr,
        )
        return 2
    suppressions = DynamoSuppressions(client, args.table)
    repo, issue = found["repo"], int(found["number"])
    try:
        rows = conversation_rows(DynamoParticipants(client, args.table), suppressions, repo, issue)
        if args.address is not None:
            rows = (address_row(rows, suppressions, args.address.strip()),)
    except ParticipantStoreError as error:
        print(f"{command}: error: {error.detail}", file=sys.stderr)
        return 2
    for row in rows:
        print(json.dumps(row.as_json(), ensure_ascii=False) if args.json else row.line())
    if args.address is None:
        print(
            f"{len(rows)} participant(s) of {repo}#{issue}, those who left included",
            file=sys.stderr,
        )
    return 0


def _webhook_secret(args: argparse.Namespace) -> int:
    if not args.secret_id:
        print(
            "ticket-router webhook-secret: error: no master secret: give --secret-id or set "
            "WEBHOOK_SECRET_ARN (terraform output -raw webhook_secret_arn)",
            file=sys.stderr,
        )
        return 2
    if args.app is not None and args.app < 1:
        print(
            f"ticket-router webhook-secret: error: {args.app} is not a GitHub App id",
            file=sys.stderr,
        )
        return 2
    if args.owner is not None and not GITHUB_LOGIN.fullmatch(args.owner):
        print(
            f"ticket-router webhook-secret: error: {args.owner!r} is not a GitHub login",
            file=sys.stderr,
        )
        return 2
    try:
        master = WebhookSecret(boto3.client("secretsmanager"), args.secret_id).get()
    except NoRegionError:
        print("no AWS region: set AWS_REGION or AWS_DEFAULT_REGION", file=sys.stderr)
        return 2
    except OutboundError as error:
        print(f"{error.reason}: {error.detail}", file=sys.stderr)
        return 2
    print(
        owner_secret(master, args.owner) if args.owner is not None else app_secret(master, args.app)
    )
    return 0


def _recipient_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--recipient",
        action="append",
        default=[],
        metavar="ADDR",
        help="envelope recipient (repeatable), for a mail SES stored for several: SES writes "
        "the recipient into its Received line only when there is one",
    )


def _decision_table_option(command: argparse.ArgumentParser, use: str = "") -> None:
    command.add_argument(
        "--decision-table",
        default=os.environ.get("DECISION_TABLE", ""),
        metavar="TABLE",
        help=f"the deployment's decision log{': ' + use if use else ''} (default: "
        "$DECISION_TABLE; terraform output decision_table_name)",
    )


def _upkeep_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--routes", default=_ROUTES_HERE, help="default: %(default)s")
    command.add_argument(
        "--table",
        default=os.environ.get("IDEMPOTENCY_TABLE", ""),
        help="DynamoDB claims table shared with the Lambda: deleting takes turns under each "
        "credential's rate limit kept there (default: $IDEMPOTENCY_TABLE)",
    )


def _claims_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--table",
        default=os.environ.get("IDEMPOTENCY_TABLE", ""),
        help="DynamoDB claims table shared with the Lambda (default: $IDEMPOTENCY_TABLE)",
    )


def _check(path: str) -> int:
    """Exit 0 for a valid routes file, 1 for an invalid one (every problem, one per line),
    2 for one that cannot be read at all."""
    try:
        routes = load_routes(path)
    except RoutesError as error:
        for message in error.errors:
            print(message, file=sys.stderr)
        return 2 if isinstance(error, RoutesUnreadable) else 1
    print(f"{path}: valid, {len(routes.routes)} routes for {len(routes.domains)} domains")
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.assume_authenticated and not args.dry_run:
        print(
            "ticket-router dispatch: error: --assume-authenticated is for previews only: "
            "add --dry-run (nothing is posted on an assumption)",
            file=sys.stderr,
        )
        return 2
    routes = _routes(args.routes)
    if routes is None:
        return 2
    receiver = _receiver(routes, args, store=_NoStore())
    if receiver is None:
        return 2
    status = 0
    for name in args.files:
        try:
            status = max(status, _dispatch_file(name, receiver, args))
        # Whatever one file trips outside the receiver (which answers for every mail), the
        # files after it still get their decisions; the exit status says one failed.
        except Exception as error:  # noqa: BLE001
            print(f"{name}: failed: {type(error).__name__}", file=sys.stderr)
            status = 1
    return status


def _dispatch_file(name: str, receiver: Receiver, args: argparse.Namespace) -> int:
    """Receive the mail in the file ``name`` and print its decisions; 1 if one needs a retry,
    or the file cannot be read or is not a mail."""
    try:
        raw = _read(name)
    # ValueError: a name the system cannot take (a NUL byte in it).
    except (OSError, ValueError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        print(f"{name}: cannot read: {reason}", file=sys.stderr)
        return 1
    # A file says nothing of when it arrived; it may be a copy of a mail posted long ago.
    ref = MailRef(bucket="", key=name, received_at=ARRIVAL_UNKNOWN)
    deadline = Deadline.within(MAIL_BUDGET_SECONDS)
    status = 0
    for decision in receiver.receive(ref, deadline, raw=raw, recipients=args.recipient):
        # A file that is no mail was likely named by mistake: the decision says what it is.
        if decision.retryable or decision.reason == Reason.NOT_A_MAIL:
            status = 1
        _print(name, decision, as_json=args.json, dry_run=args.dry_run, out=sys.stdout)
    return status


def _replay(args: argparse.Namespace) -> int:
    problem = _replay_usage(args)
    if problem is not None:
        print(f"ticket-router replay: error: {problem}", file=sys.stderr)
        return 2
    refs: list[MailRef] = []
    for spec in args.keys:
        try:
            refs.append(key_ref(spec, bucket=args.bucket, prefix=args.prefix))
        except ValueError as error:
            print(f"ticket-router replay: error: {error}", file=sys.stderr)
            return 2
    routes = _routes(args.routes)
    if routes is None:
        return 2
    receiver = _receiver(routes, args, store=MailStore(boto3.client("s3")))
    if receiver is None:
        return 2
    if args.dlq:
        return _replay_queue(args, receiver)
    replays = replay_keys(refs, receiver, recipients=args.recipient)
    return _report(replays, as_json=args.json, dry_run=args.dry_run)


def _why(args: argparse.Namespace) -> int:
    try:
        query = mail_query(args.mail)
    except ValueError as error:
        print(f"ticket-router why: error: {error}", file=sys.stderr)
        return 2
    search = _decision_search("why", args.decision_table)
    if search is None:
        return 2
    try:
        records = search.for_mail(query)
    except DecisionLogError as error:
        print(f"ticket-router why: error: {error.detail}", file=sys.stderr)
        return 2
    if not records:
        print(
            f"no decision recorded for {args.mail.strip()} in {args.decision_table} "
            f"(searched: {query.searched})",
            file=sys.stderr,
        )
        return 1
    for record in records:
        if args.json:
            print(json.dumps(as_json(record), ensure_ascii=False))
        else:
            print("\n".join(describe(record)) + "\n")
    return 0


def _decisions(args: argparse.Namespace) -> int:
    now = time.time()
    try:
        filters, since = _listing(args, now)
    except ValueError as error:
        print(f"ticket-router decisions: error: {error}", file=sys.stderr)
        return 2
    search = _decision_search("decisions", args.decision_table)
    if search is None:
        return 2
    shown = 0
    try:
        for record in search.since(since, now, filters):
            if shown == args.limit:
                print(
                    f"more than {args.limit} decisions: the newest {args.limit} are shown "
                    "(narrow --since or a filter, or raise --limit)",
                    file=sys.stderr,
                )
                return 0
            shown += 1
            print(json.dumps(as_json(record), ensure_ascii=False) if args.json else summary(record))
    except DecisionLogError as error:
        print(f"ticket-router decisions: error: {error.detail}", file=sys.stderr)
        return 2
    print(f"{shown} decision(s) since {iso_time(since)}", file=sys.stderr)
    return 0


def _listing(args: argparse.Namespace, now: float) -> tuple[Filters, float]:
    """What ``decisions`` lists: its filters and since when. Raises ValueError saying which
    argument is wrong."""
    since = parse_since(args.since, now)
    if args.reason is not None and args.reason not in {reason.value for reason in Reason}:
        raise ValueError(f"--reason {args.reason!r} is not a reason code (docs/reasons.md)")
    domain = None
    if args.domain is not None:
        domain = normalize_domain(args.domain)
        if domain is None:
            raise ValueError(f"--domain {args.domain!r} is not a domain name")
    if args.limit < 1:
        raise ValueError(f"--limit must be at least 1, not {args.limit}")
    route = args.route.strip() if args.route is not None else None
    return Filters(route=route, reason=args.reason, sender_domain=domain), since


def _decision_search(command: str, table: str) -> DecisionSearch | None:
    """The decision log, read with this machine's credentials; None (the problem printed)."""
    if not table:
        print(
            f"ticket-router {command}: error: no decision table: give --decision-table or set "
            "DECISION_TABLE (terraform output -raw decision_table_name)",
            file=sys.stderr,
        )
        return None
    try:
        return DecisionSearch(boto3.client("dynamodb"), table)
    except NoRegionError:
        print(
            f"ticket-router {command}: error: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION",
            file=sys.stderr,
        )
        return None


class _Stop(Exception):
    """The command ends with ``status``, its problem already printed."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _attachments(args: argparse.Namespace) -> int:
    command = f"ticket-router attachments {args.upkeep}"
    routes = _routes(args.routes)
    if routes is None:
        return 2
    try:
        mails = _mails(args, routes, command) if args.upkeep == "remove" else []
        if args.upkeep == "remove" and not mails:
            return 0
        stores = _upkeep_stores(routes, args, command)
    except _Stop as stop:
        return stop.status
    deployment = _deployment()
    if args.upkeep == "sweep":
        done = sweep(routes, stores, time.time(), deployment=deployment)
        if not done.searched:
            print("no route keeps files committed to GitHub for retention_days: nothing to sweep")
        elif not done.removed and not done.failed:
            print(f"nothing past its retention (swept: {', '.join(done.searched)})")
        return _upkept(done, command)
    status = 0
    for mail, repos in mails:
        done = remove(mail, repos, routes, stores, deployment=deployment)
        if not done.searched:
            posting = f" posting to {', '.join(repos)}" if repos else ""
            print(f"nothing stored for mail {mail}: no route{posting} links files")
        elif not done.removed and not done.failed:
            print(f"nothing stored for mail {mail} (looked in: {', '.join(done.searched)})")
        status = max(status, _upkept(done, command))
    return status


def _upkept(done: Upkeep, command: str) -> int:
    """Print what ``done`` removed, and each place that failed: 1 if one did."""
    for file in done.removed:
        print(f"removed {file.where}" + (f" {file.url}" if file.url else ""))
    for failure in done.failed:
        print(f"{command}: error: {failure.where}: {failure.detail}", file=sys.stderr)
    return 1 if done.failed else 0


def _mails(
    args: argparse.Namespace, routes: Routes, command: str
) -> list[tuple[str, tuple[str, ...]]]:
    """Each mail key that MAIL names, with the repositories its files may be for: a mail key and
    --repo (or every repository a linking route posts to), or what the decision log recorded."""
    for repo in args.repo:
        if not REPO_FULL_NAME.fullmatch(repo):
            print(f"{command}: error: --repo {repo!r} is not owner/name", file=sys.stderr)
            raise _Stop(2)
    spec = args.mail.strip()
    if MAIL_KEY.fullmatch(spec.lower()):
        linking = (route.repo for route in routes.routes if route.attachments.mode == "link")
        return [(spec.lower(), tuple(dict.fromkeys(args.repo or linking)))]
    try:
        query = mail_query(spec)
    except ValueError as error:
        print(f"{command}: error: {error}", file=sys.stderr)
        raise _Stop(2) from None
    search = _decision_search(f"attachments {args.upkeep}", args.decision_table)
    if search is None:
        raise _Stop(2)
    try:
        records = search.for_mail(query)
    except DecisionLogError as error:
        print(f"{command}: error: {error.detail}", file=sys.stderr)
        raise _Stop(2) from None
    if not records:
        print(
            f"{command}: error: no decision recorded for {spec} in {args.decision_table} "
            f"(searched: {query.searched}): give its mail key",
            file=sys.stderr,
        )
        raise _Stop(1)
    keys = dict.fromkeys(record.mail for record in records if record.mail is not None)
    if not keys:
        print(f"nothing stored for {spec}: it was never read as a mail")
    mails = []
    for mail in keys:
        posted = (record.repo for record in records if record.mail == mail and record.repo)
        repos = tuple(dict.fromkeys(args.repo or posted))
        if repos:
            mails.append((mail, repos))
        else:
            print(f"nothing stored for mail {mail}: it was posted to no repository")
    return mails


def _upkeep_stores(routes: Routes, args: argparse.Namespace, command: str) -> RouteStores:
    """Each route's stores, on this machine's credentials, each place within its own budget."""
    credentials = _credentials(routes, dry_run_hint=False)
    if credentials is None:
        raise _Stop(2)
    limits = _limits()
    if limits is None:
        raise _Stop(2)
    tables = None
    if args.table:
        tables = _tables(args.table)
        if tables is None:
            raise _Stop(2)
    bucket: BucketFiles | None = None
    if getattr(args, "bucket", ""):
        try:
            bucket = S3Files(boto3.client("s3"), args.bucket)
        except NoRegionError:
            print(
                f"{command}: error: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION",
                file=sys.stderr,
            )
            raise _Stop(2) from None
    made = attachment_stores(GitHubClients(credentials, post_limits(tables, limits)), bucket)
    return lambda route: made(route, Deadline.within(_PLACE_BUDGET_SECONDS))


def _replay_usage(args: argparse.Namespace) -> str | None:
    if args.dlq and args.keys:
        return "give S3 keys or --dlq QUEUE_URL, not both"
    if not args.dlq and not args.keys:
        return "give the S3 keys of the mails to replay, or --dlq QUEUE_URL"
    if not args.dlq and (args.delete or args.max is not None):
        return "--delete and --max apply to --dlq only"
    if args.delete and args.dry_run:
        return "--dry-run deletes nothing: drop --delete or --dry-run"
    if args.max is not None and args.max < 1:
        return f"--max must be at least 1, not {args.max}"
    if args.dlq and args.recipient:
        return "--recipient applies to keys only: a queued event names its own recipients"
    return None


def _replay_queue(args: argparse.Namespace, receiver: Receiver) -> int:
    try:
        queue = SqsFailureQueue(_sqs_client(args.dlq), args.dlq)
    except NoRegionError:
        print(f"{args.dlq}: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION", file=sys.stderr)
        return 2
    replays = replay_queue(
        queue, receiver, bucket=args.bucket, prefix=args.prefix, delete=args.delete, limit=args.max
    )
    status = 0
    read = 0
    try:
        for replay in replays:
            read += 1
            if _report(replay.outcomes, as_json=args.json, dry_run=args.dry_run):
                status = 1
            if replay.fate == "kept" and args.delete:
                status = 1
            why = "dry run" if args.dry_run else replay.why
            print(f"dlq:{replay.message_id}: {replay.fate}: {why}", file=sys.stderr)
    except QueueError as error:
        print(str(error), file=sys.stderr)
        return 2 if read == 0 else 1
    print(f"{args.dlq}: {read} message(s) replayed", file=sys.stderr)
    return status


def _report(outcomes: Iterable[MailReplay], *, as_json: bool, dry_run: bool) -> int:
    status = 0
    for outcome in outcomes:
        for decision in outcome.decisions:
            if needs_attention(decision):
                status = 1
            try:
                _print(outcome.source, decision, as_json=as_json, dry_run=dry_run, out=sys.stdout)
            # A decision that cannot be printed (an output that takes no such character) must
            # not cost the mails after it theirs; the exit status says one failed.
            except Exception as error:  # noqa: BLE001
                print(f"{outcome.source}: failed: {type(error).__name__}", file=sys.stderr)
                status = 1
    return status


def _routes(path: str) -> Routes | None:
    try:
        return load_routes(path)
    except RoutesError as error:
        for message in error.errors:
            print(message, file=sys.stderr)
        return None


def _credentials(routes: Routes, *, dry_run_hint: bool = True) -> Credentials | None:
    """Each route's GitHub login: GITHUB_TOKEN for the routes without a credential of their
    own, Secrets Manager for those with one. None (the problem printed) when that cannot be."""
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    own = any(route.credential is not None for route in routes.routes)
    if not token and not own:
        print(_NO_GITHUB_LOGIN + (", or use --dry-run" if dry_run_hint else ""), file=sys.stderr)
        return None
    secrets = None
    if own:
        try:
            secrets = Secrets(boto3.client("secretsmanager"))
        except NoRegionError:
            print(
                "routes name Secrets Manager secrets (token_secret, github_app): no AWS region: "
                "set AWS_REGION or AWS_DEFAULT_REGION",
                file=sys.stderr,
            )
            return None

    def default_token() -> str:
        if not token:
            # Only a route without a credential of its own needs it: its mails wait for it.
            raise StoreError(Reason.TOKEN_UNAVAILABLE, _NO_GITHUB_LOGIN)
        return token

    return Credentials(
        secrets,
        default_token,
        default_api_url=os.environ.get("GITHUB_API_URL") or "https://api.github.com",
    )


def _receiver(routes: Routes, args: argparse.Namespace, *, store: Fetcher) -> Receiver | None:
    """The Lambda's receiver, on this machine's credentials; a dry run needs none. None (the
    problem printed) when it cannot be built."""
    if args.dry_run:
        assume = getattr(args, "assume_authenticated", False)
        preview = Runtime(
            routes,
            store,
            deployment=_deployment(),
        )
        return Receiver(preview, dry_run=True, assume_authenticated=assume)
    credentials = _credentials(routes)
    if credentials is None:
        return None
    limits = _limits()
    if limits is None:
        return None
    tables: Tables | None = None
    if args.table:
        tables = _tables(args.table)
        if tables is None:
            return None
    decisions: DecisionTable | None = None
    if getattr(args, "decision_table", ""):
        decisions = _decision_table(args.decision_table)
        if decisions is None:
            return None
    return Receiver(
        inbound_runtime(
            routes,
            store=store,
            credentials=credentials,
            tables=tables,
            limits=limits,
            ses=cast("SESClient", LazyClient("ses")),
            # As the Lambda's: notices sent here are reported back like the Lambda's.
            ses_configuration_set=os.environ.get("SES_CONFIGURATION_SET", ""),
            bucket=getattr(args, "bucket", ""),
            prefix=getattr(args, "prefix", ""),
            decisions=decisions,
            attachments=_attachments_bucket(),
            deployment=_deployment(),
        )
    )


def _limits() -> Limits | None:
    """Each credential's POSTs a minute and an hour, as the Lambda's settings say: with --table
    its limit is the Lambda's own, shared. None (the problem printed) when they are unreadable."""
    try:
        return Limits.parse(
            os.environ.get("GITHUB_POSTS_PER_MINUTE"), os.environ.get("GITHUB_POSTS_PER_HOUR")
        )
    except ValueError as error:
        print(error, file=sys.stderr)
        return None


def _deployment() -> Deployment:
    """Where the Lambda says stored files are: its GITHUB_API_URL and ATTACHMENTS_URL."""
    return deployment_of(os.environ.get("GITHUB_API_URL"), os.environ.get("ATTACHMENTS_URL"))


def _attachments_bucket() -> BucketFiles | None:
    """The Lambda's attachments bucket (ATTACHMENTS_BUCKET), so that a mail dispatched or
    replayed here stores its files where the Lambda would."""
    name = os.environ.get("ATTACHMENTS_BUCKET", "")
    return S3Files(cast("S3Client", LazyClient("s3")), name) if name else None


def _tables(table: str) -> Tables | None:
    """The Lambda's claims table, so that neither side posts what the other did. Without one
    nothing is claimed; the GitHub client still looks for the mail's marker on the issue before
    posting, since a mail handled here is never a first delivery."""
    ttl_text = os.environ.get("IDEMPOTENCY_TTL_SECONDS") or str(DEFAULT_CLAIM_TTL)
    if not ttl_text.isdigit() or int(ttl_text) < 1:
        print(
            f"IDEMPOTENCY_TTL_SECONDS must be a number of seconds, not {ttl_text!r}",
            file=sys.stderr,
        )
        return None
    try:
        client = boto3.client("dynamodb")
    except NoRegionError:
        print(
            f"--table {table}: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION", file=sys.stderr
        )
        return None
    return Tables(client, table, int(ttl_text))


def _decision_table(table: str) -> DecisionTable | None:
    """The Lambda's decision log, so that ``why`` shows what a replay decided too."""
    try:
        days = retention_days(os.environ.get("DECISION_RETENTION_DAYS"))
    except ValueError as error:
        print(error, file=sys.stderr)
        return None
    try:
        client = boto3.client("dynamodb")
    except NoRegionError:
        print(
            f"--decision-table {table}: no AWS region: set AWS_REGION or AWS_DEFAULT_REGION",
            file=sys.stderr,
        )
        return None
    return DecisionTable(client, table, days)


class _NoStore:
    """dispatch reads files itself: nothing is fetched."""

    def fetch(self, bucket: str, key: str) -> bytes:
        raise AssertionError(f"dispatch fetches nothing ({key})")


def _sqs_client(url: str) -> SQSClient:
    # A queue URL names its region; the client must be in that region to reach it.
    found = _SQS_HOST.match(url)
    return boto3.client("sqs", region_name=found.group(1) if found else None)


def _read(name: str) -> bytes:
    if name == "-":
        return sys.stdin.buffer.read()
    return Path(name).read_bytes()


def _print(name: str, decision: Decision, *, as_json: bool, dry_run: bool, out: TextIO) -> None:
    draft = decision.draft
    body = draft.body if draft is not None else None
    title = draft.title if isinstance(draft, IssueDraft) else None
    labels = draft.labels if isinstance(draft, IssueDraft) else ()
    if as_json:
        record = {
            "file": name,
            "recipient": decision.recipient,
            "action": decision.action,
            "repo": decision.repo,
            "issue": decision.issue,
            "title": title,
            "labels": list(labels),
            "body": body,
            "reason": decision.reason,
            "detail": decision.detail,
            "url": decision.url,
            "assumed": decision.assumed,
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return
    target = f"{decision.repo}#{decision.issue}" if decision.repo else "-"
    recipient = decision.recipient or "(no recipient)"
    if decision.action == "open":
        if dry_run:
            verb = f"would open an issue in {decision.repo}"
        elif decision.reason == Reason.ALREADY_OPENED:
            verb = f"already opened {target}"
        else:
            verb = f"opened {target}"
        out.write(f"{name} -> {recipient}: {verb}")
        out.write(f" {decision.url}\n" if decision.url else "\n")
        out.write(_assumption(decision))
        tags = f" [{', '.join(labels)}]" if labels else ""
        out.write(f"    title: {title}{tags}\n")
        for line in (body or "").split("\n"):
            out.write(f"    | {line}\n")
    elif decision.action == "comment":
        if dry_run:
            verb = "would comment on"
        elif decision.reason == Reason.ALREADY_POSTED:
            verb = "already commented on"
        else:
            verb = "commented on"
        out.write(f"{name} -> {recipient}: {verb} {target}")
        out.write(f" {decision.url}\n" if decision.url else "\n")
        out.write(_assumption(decision))
        for line in (body or "").split("\n"):
            out.write(f"    | {line}\n")
    elif decision.action == "unsubscribe":
        verb = "would unsubscribe the sender from" if dry_run else f"{decision.reason}:"
        out.write(f"{name} -> {recipient}: {verb} {target}\n")
        out.write(_assumption(decision))
        out.write(f"    {decision.detail}\n")
    else:
        out.write(f"{name} -> {recipient}: rejected ({decision.reason}) {target}\n")
        out.write(_assumption(decision))
        out.write(f"    {decision.detail}\n")
    out.write("\n")


def _assumption(decision: Decision) -> str:
    """The line that says what a preview's decision rests on in SES's stead, if anything."""
    if decision.assumed is None:
        return ""
    return f"    ASSUMED, not checked (--assume-authenticated): {decision.assumed}\n"
