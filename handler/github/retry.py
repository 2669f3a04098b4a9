"""When GitHub is asked again: attempts retried with stamina within the invocation's deadline,
request timeouts cut to the time left, and how long GitHub's rate-limit answers say to wait (the
credential's shared limit is handler.github.rate_limit)."""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeVar

from handler.deadline import Deadline
from handler.github.errors import GitHubError, error_message
from handler.reasons import Reason

if TYPE_CHECKING:
    import requests

# Kept back from the Lambda deadline for logging the decisions and returning.
SAFETY_MARGIN = 3.0
# A rate-limit wait longer than this is left to the queue (the message hidden that long) even when
# the invocation could sleep through it. Any shorter wait that fits the invocation is slept
# through: mail in hand then waits there, where handing it back would spend one of the mail
# queue's receives per mail and window (15 minutes: Lambda's longest timeout).
MAX_RATE_LIMIT_WAIT = 900.0
# GitHub's advice for a secondary rate limit that names no reset time: wait at least a minute.
SECONDARY_LIMIT_WAIT = 60.0

# stamina (with tenacity, about 25 ms) is imported by the first client, not with this module: a
# cold start, and a mail that is not posted, do not need it.


class Retry(Exception):
    """An attempt failed in a way that another may not: wait ``wait`` seconds and try again, or,
    when no attempt or time is left, raise ``error``."""

    def __init__(self, error: GitHubError, wait: float) -> None:
        super().__init__(error.detail)
        self.error = error
        self.wait = wait


_R = TypeVar("_R")


def retrying(
    attempt: Callable[[int], _R],
    *,
    attempts: int,
    deadline: Deadline,
    sleep: Callable[[float], None] = time.sleep,
) -> _R:
    """``attempt(n)`` for n = 1, 2, ... until it returns or raises anything but Retry.

    A Retry is waited out and tried again while an attempt is left and the wait ends a second
    before the deadline (less SAFETY_MARGIN); otherwise its error is raised now, saying how many
    attempts were made, so that the invocation ends cleanly and Lambda's own retry takes over.
    stamina counts the attempts and decides; the waits are the caller's (GitHub's Retry-After or
    rate-limit reset, a backoff with jitter), slept through ``sleep`` before the next attempt.
    """
    import_stamina()
    import stamina  # noqa: PLC0415 - imported above: a lookup

    made = 0
    wait = 0.0

    def worth_retrying(failure: Exception) -> bool:
        return isinstance(failure, Retry) and failure.wait + 1.0 <= time_left(deadline)

    try:
        for each in stamina.retry_context(
            on=worth_retrying,
            attempts=attempts,
            timeout=None,
            wait_initial=0.0,
            wait_max=0.0,
            wait_jitter=0.0,
        ):
            with each:
                if made:
                    sleep(wait)
                made = each.num
                try:
                    return attempt(made)
                except Retry as failed:
                    wait = failed.wait
                    raise
    except Retry as failed:
        raise failed.error.after(made) from None
    raise AssertionError("stamina ended without an attempt")  # pragma: no cover


def time_left(deadline: Deadline) -> float:
    """Seconds left for GitHub: the deadline's, less what logging the decisions and returning
    need (SAFETY_MARGIN); infinite without a deadline."""
    return deadline.remaining() - SAFETY_MARGIN


def request_timeout(timeout: float, deadline: Deadline, no_time: str) -> float:
    """``timeout`` cut to the time left, or github-timeout (``no_time``) when under a second is
    left: a request that cannot get its answer in time is not sent."""
    left = time_left(deadline)
    if left < 1.0:
        raise GitHubError(Reason.GITHUB_TIMEOUT, no_time)
    return min(timeout, left)


@functools.cache
def import_stamina() -> None:
    """stamina, imported once and told to stay quiet."""
    import stamina  # noqa: PLC0415 - see the note above Retry

    # Whoever gives up reports the failure (a decision's reason and detail): stamina's own
    # warning per retry would be a second, unstructured report, on stderr in the CLI.
    stamina.instrumentation.set_on_retry_hooks(())


def backoff(attempt: int) -> float:
    """The wait after failed attempt ``attempt``: exponential with jitter, so that concurrent
    functions do not retry in step."""
    return float(min(2 ** (attempt - 1), 8)) + random.uniform(0, 0.5)  # noqa: S311


def rate_limit_wait(response: requests.Response, clock: Callable[[], float]) -> float | None:
    """Seconds to wait when ``response`` is a rate limit that says how long, else None.

    https://docs.github.com/en/rest/using-the-rest-api/troubleshooting-the-rest-api#rate-limit-errors
    """
    if response.status_code not in {403, 429}:
        return None
    headers = response.headers
    retry_after = headers.get("retry-after", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    if retry_after:
        # RFC 9110 also allows an HTTP-date; GitHub sends seconds, proxies may not.
        try:
            when = parsedate_to_datetime(retry_after)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            return max(0.0, when.timestamp() - clock())
    reset = headers.get("x-ratelimit-reset", "").strip()
    if headers.get("x-ratelimit-remaining", "").strip() == "0" and reset.isdigit():
        return max(0.0, int(reset) - clock()) + 1.0
    return None


def is_unnamed_limit(response: requests.Response) -> bool:
    """A secondary rate limit that gives no time: any 429, or a 403 that says so."""
    status = response.status_code
    return status == 429 or (status == 403 and "rate limit" in error_message(response).lower())


def rate_limit_detail(response: requests.Response, target: str, limited: str) -> str:
    """When the token's rate limit resets, if GitHub said; else ``limited``."""
    reset = response.headers.get("x-ratelimit-reset", "").strip()
    if reset.isdigit():
        when = datetime.fromtimestamp(int(reset), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"GitHub's rate limit for this token resets at {when}; {target} not posted"
    return limited
