"""A burst of mail through the queue-fed inbound path, in simulated time (tests.simulation).

SES's notifications wait in a simulated mail queue; ``containers`` threads play the event source
mapping's concurrent invocations of the real handler (handle_event with the runtime the Lambda
builds: claims, posting records and each container's own handle on the credential's rate limit
in moto's DynamoDB); GitHub is the loopback server, limiting POSTs to ``per_minute`` in any 60 s
with a retry-after, and answering some POSTs with a retry-after window of its own. Shared by
tests/test_burst.py (the verdicts) and bench/run.py (the throughput).
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Response

from handler.aws.rate_limit import DynamoPostLimit
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.credentials import Credentials
from handler.github.rate_limit import Limits
from handler.inbound.identity import mail_key
from handler.inbound.mail import parse_mail
from handler.routing import load_routes
from handler.service.inbound import handle_event
from handler.service.inbound import logger as decision_logger
from handler.wiring import Tables, inbound_runtime
from tests.conftest import TESTS
from tests.dynamo import CLAIMS_TABLE, Atomic
from tests.fakegithub import FakeGitHub, rate_limited
from tests.sesmail import ses_mail
from tests.simulation import QueuedMessage, SimulatedQueue, VirtualClock

# When SES received the burst (the sample mails' own date): the replay guard measures by it.
START = datetime(2026, 11, 23, 9, 14, 3, tzinfo=UTC).timestamp()
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:ticket-router-mail"
ISSUES = 50


@dataclass(frozen=True)
class Burst:
    mails: int
    containers: int = 2
    # GitHub's limit of content-creating requests, and ours.
    per_minute: int = 80
    # GitHub answers the POST with this number with a retry-after of that many seconds.
    holds: tuple[tuple[int, int], ...] = ()
    # Every n-th notification is delivered twice, as SQS may.
    twice_every: int = 10
    lambda_seconds: float = 120.0
    batch_size: int = 10
    # Terraform's defaults: the mail queue's visibility (6 x the timeout) and redrive count.
    visibility: float = 720.0
    max_receives: int = 30


@dataclass
class Outcome:
    mails: int
    # Mails whose comment GitHub holds exactly once, more than once, or not at all.
    posted_once: int
    duplicated: list[str]
    missing: list[str]
    dead_letters: int
    # Moments (simulated epoch seconds) of every POST GitHub got, and of its retry-after windows.
    posts: list[float]
    windows: list[tuple[float, float]]
    # GitHub's per-minute limit had to refuse this many POSTs (ours should have prevented them).
    refused_by_limit: int
    seconds: float
    invocations: int
    handed_back: int
    # The reasons of the decisions that sent a message back to the queue, counted.
    retried: dict[str, int] = field(default_factory=dict)

    @property
    def posts_in_windows(self) -> list[float]:
        return [t for t in self.posts for start, end in self.windows if start < t < end]

    @property
    def per_minute(self) -> float:
        return self.mails / (self.seconds / 60) if self.seconds else math.inf

    @property
    def busiest_minute(self) -> int:
        """The most POSTs in any 60 s."""
        posts = sorted(self.posts)
        most, first = 0, 0
        for last, moment in enumerate(posts):
            while posts[first] <= moment - 60:
                first += 1
            most = max(most, last - first + 1)
        return most


@dataclass
class LimitedGitHub(FakeGitHub):
    """The loopback GitHub, in simulated time: at most ``per_minute`` POSTs in any 60 s (a 403
    with retry-after beyond), and a 429 with retry-after for the POSTs ``holds`` numbers."""

    per_minute: int = 80
    holds: dict[int, int] = field(default_factory=dict)
    windows: list[tuple[float, float]] = field(default_factory=list)
    refused_by_limit: int = 0
    _posts: int = 0
    _accepted: list[float] = field(default_factory=list)

    def _limited(self) -> Response | None:
        # Called under the server's lock, once per POST.
        now = self.clock()
        self._posts += 1
        hold = self.holds.get(self._posts)
        if hold is not None:
            self.windows.append((now, now + hold))
            return rate_limited(429, hold)
        recent = [t for t in self._accepted[-self.per_minute :] if t > now - 60]
        if len(recent) >= self.per_minute:
            wait = math.ceil(recent[0] + 60 - now)
            self.windows.append((now, now + wait))
            self.refused_by_limit += 1
            return rate_limited(403, wait)
        self._accepted.append(now)
        return None


class _Store:
    def __init__(self, mails: dict[str, bytes]) -> None:
        self._mails = mails

    def fetch(self, bucket: str, key: str) -> bytes:
        return self._mails[key]


class _Visibility:
    def __init__(self, queue: SimulatedQueue) -> None:
        self._queue = queue

    def hide(self, queue_arn: str, receipt_handle: str, seconds: int) -> str | None:
        self._queue.change_visibility(receipt_handle, seconds)
        return None


def mail(number: int) -> bytes:
    issue = number % ISSUES + 1
    raw = ses_mail(
        f"Report number {number}.\r\n",
        to=f"{issue}@issues.example.com",
        recipient=f"{issue}@issues.example.com",
    )
    return raw.replace(b"<m1@example.com>", f"<m{number}@example.com>".encode())


def notification(number: int, key: str) -> str:
    """SES's notification of the S3 action for mail ``number``, as raw delivery queues it."""
    stamp = datetime.fromtimestamp(START, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    recipient = f"{number % ISSUES + 1}@issues.example.com"
    verdict = {"status": "PASS"}
    return json.dumps(
        {
            "notificationType": "Received",
            "mail": {
                "timestamp": stamp,
                "source": "alice@example.com",
                "messageId": key.rsplit("/", 1)[1],
                "destination": [recipient],
            },
            "receipt": {
                "timestamp": stamp,
                "recipients": [recipient],
                "spamVerdict": verdict,
                "virusVerdict": verdict,
                "spfVerdict": verdict,
                "dkimVerdict": verdict,
                "dmarcVerdict": verdict,
                "action": {"type": "S3", "bucketName": "mail", "objectKey": key},
            },
        }
    )


def run(burst: Burst, *, dynamodb: Any, server: HTTPServer) -> Outcome:
    """The burst from the first notification to the last message deleted."""
    clock = VirtualClock(START)
    github = LimitedGitHub(
        server, clock=clock, per_minute=burst.per_minute, holds=dict(burst.holds)
    ).install()
    queue = SimulatedQueue(
        clock, visibility=burst.visibility, max_receives=burst.max_receives, arn=QUEUE_ARN
    )
    mails = {f"inbound/burst{n:05d}": mail(n) for n in range(burst.mails)}
    for n, key in enumerate(mails):
        for copy in range(2 if burst.twice_every and n % burst.twice_every == 0 else 1):
            queue.send(f"{key}#{copy}", notification(n, key))
    table = Atomic(dynamodb)
    routes = load_routes(TESTS / "lambda" / "routes.yaml")
    counts: Counter[str] = Counter()
    counted = threading.Lock()
    # When the last invocation ended.
    finished = [START]

    def container() -> None:
        # Each its own runtime, as each Lambda container builds one; the table is shared.
        limit = DynamoPostLimit(
            table,
            CLAIMS_TABLE,
            api_url=server.url_for("/"),
            identity="burst",
            limits=Limits(per_minute=burst.per_minute, per_hour=0),
        )
        built = inbound_runtime(
            routes,
            store=_Store(mails),
            credentials=Credentials(None, lambda: "t"),
            tables=Tables(table, CLAIMS_TABLE, 86400),
        )
        runtime = replace(
            built,
            github=lambda route, deadline: GitHubClient(
                "t",
                deadline=deadline,
                api_url=server.url_for("/"),
                sleep=clock.sleep,
                clock=clock,
                limit=limit,
            ),
            visibility=_Visibility(queue),
            # As the Lambda runs with its table (handler.lambda_function).
            search_old_mail=False,
            clock=clock,
            jitter=lambda: 0.5,
        )
        with clock.participant():
            while True:
                batch = queue.receive(burst.batch_size)
                if not batch:
                    shows = queue.next_visible()
                    if shows is None:
                        return
                    clock.sleep(max(shows - clock(), 0.001))
                    continue
                deadline = Deadline.within(burst.lambda_seconds, clock)
                result = handle_event({"Records": [_record(m) for m in batch]}, runtime, deadline)
                failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
                for message in batch:
                    if message.message_id not in failed:
                        queue.delete(message.receipt)
                with counted:
                    finished[0] = max(finished[0], clock())
                    counts.update(str(d["reason"]) for d in result["decisions"] if d["retryable"])
                    counts["invocations"] += 1
                    counts["handed back"] += len(failed)

    level = decision_logger.level
    # Thousands of decision lines (and the WARNINGs of the mails handed back) would cost more
    # than the burst itself; the outcome counts them.
    decision_logger.setLevel(logging.ERROR)
    try:
        threads = [threading.Thread(target=container) for _ in range(burst.containers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        decision_logger.setLevel(level)
    per_mail = github.marked()
    markers = {key: mail_key(parse_mail(raw), raw) for key, raw in mails.items()}
    posts = [moment for moment, method, _ in github.log if method == "POST"]
    return Outcome(
        mails=burst.mails,
        posted_once=sum(1 for m in markers.values() if per_mail[m] == 1),
        duplicated=[key for key, m in markers.items() if per_mail[m] > 1],
        missing=[key for key, m in markers.items() if per_mail[m] == 0],
        dead_letters=len(queue.dead_letters),
        posts=posts,
        windows=github.windows,
        refused_by_limit=github.refused_by_limit,
        seconds=finished[0] - START,
        invocations=counts["invocations"],
        handed_back=counts["handed back"],
        retried={k: v for k, v in counts.items() if k not in {"invocations", "handed back"}},
    )


def _record(message: QueuedMessage) -> dict[str, Any]:
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt,
        "body": message.body,
        "attributes": {"ApproximateReceiveCount": str(message.receives)},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }
