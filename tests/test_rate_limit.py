"""One rate limit per credential, shared by every container: GitHub's 80 POSTs a minute and 500 an
hour as a sliding log, and the retry-after window any container was given (hold_until), in one
DynamoDB item (moto) that GitHub clients against the loopback GitHub take their turns from.

Time is a test clock that only sleeps move; the fake GitHub logs each request at its time.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pytest_httpserver import HTTPServer

from handler.aws.rate_limit import DynamoPostLimit, rate_limit_key
from handler.deadline import Deadline
from handler.github.client import GitHubClient
from handler.github.errors import GitHubError
from handler.github.rate_limit import (
    Limits,
    MemoryPostLimit,
    RateState,
    earliest,
    held,
    reserved,
)
from handler.reasons import Reason, TicketRouterError
from tests.clock import Clock, T
from tests.dynamo import CLAIMS_TABLE
from tests.fakegithub import FakeGitHub

API = "https://api.github.com"
COMMENTS = "/repos/example-org/app/issues/7/comments"


def run(limits: Limits, moments: list[float]) -> tuple[RateState, list[float]]:
    """Each moment asks for a turn: the turns given, and the state after them."""
    state, given = RateState(), []
    for now in moments:
        moment = earliest(state, limits, now)
        state = reserved(state, limits, moment)
        given.append(moment)
    return state, given


# --- The logic, on data.


def test_a_backlog_goes_ten_at_a_time_every_seven_and_a_half_seconds():
    """80 a minute, spread: ten turns at once, the next ten 7.5 s later, the 81st a minute after
    the first; never more than 80 in a minute or 10 in 7.5 s."""
    asked = [T + n * 0.25 for n in range(82)]
    _, given = run(Limits(), asked)
    assert given[:10] == asked[:10]
    assert given[10:20] == [moment + 7.5 for moment in asked[:10]]
    assert given[70:80] == [moment + 52.5 for moment in asked[:10]]
    assert given[80:] == [T + 60.0, T + 60.25]
    assert most_in(given, 60.0) == 80
    assert most_in(given, 7.5) == 10


def test_the_501st_post_in_an_hour_waits_for_the_first_to_leave_the_hour():
    """At 80 a minute, 500 turns take six minutes and a quarter; the 501st comes an hour after
    the first."""
    state, given = run(Limits(), [T] * 501)
    assert given[:10] == [T] * 10
    assert given[490:500] == [T + 367.5] * 10
    assert given[500] == T + 3600.0
    assert most_in(given, 3600.0) == 500
    # Only what a limit can still count is kept: the ten at T are an hour old now.
    assert len(state.sent) == 491
    assert state.sent[0] == T + 7.5


def most_in(moments: list[float], seconds: float) -> int:
    """The most moments in any window of ``seconds`` (a moment ``seconds`` after another is in
    the next one)."""
    ordered = sorted(moments)
    first, most = 0, 0
    for last, moment in enumerate(ordered):
        while ordered[first] <= moment - seconds:
            first += 1
        most = max(most, last - first + 1)
    return most


def test_a_hold_comes_before_any_turn():
    """No turn inside a retry-after window, however empty the windows are."""
    state = held(RateState(), T + 30)
    assert earliest(state, Limits(), T) == T + 30
    assert held(state, T + 10).hold_until == T + 30


def test_turns_are_taken_in_order():
    """A turn reserved ahead (a container waiting for it) is not overtaken."""
    state = RateState((T + 20,))
    assert earliest(state, Limits(), T) == T + 20


def test_reservations_older_than_every_window_are_forgotten():
    """An hour and more ago counts for nothing."""
    state = reserved(RateState((T - 3700, T - 3600, T - 10)), Limits(), T)
    assert state.sent == (T - 10, T)


@pytest.mark.parametrize(
    ("minute", "hour", "limits"),
    [
        (None, None, Limits(80, 500)),
        ("", " ", Limits(80, 500)),
        ("30", "0", Limits(30, 0)),
    ],
)
def test_the_limits_come_from_their_settings(minute, hour, limits):
    """Unset is GitHub's documented limits; 0 turns one off."""
    assert Limits.parse(minute, hour) == limits


def test_a_bad_setting_is_named():
    """Anything but a whole number stops the configuration, naming the variable."""
    with pytest.raises(ValueError, match="GITHUB_POSTS_PER_HOUR must be a whole number"):
        Limits.parse("80", "-1")


def test_with_every_limit_off_only_holds_count():
    """0 and 0: no window, no log kept; a hold still holds."""
    state, given = run(Limits(0, 0), [T] * 3)
    assert (given, state.sent) == ([T] * 3, ())
    assert earliest(held(state, T + 5), Limits(0, 0), T) == T + 5


def test_the_memory_limit_reserves_only_what_fits():
    """A turn later than the caller can wait is told, not taken."""
    limit = MemoryPostLimit(Limits(1, 0))
    assert limit.reserve(T, T) == T
    assert limit.reserve(T, T + 30) == T + 60
    assert limit.reserve(T, T + 60) == T + 60
    assert limit.reserve(T, T + 200) == T + 120


# --- The item in DynamoDB.


def shared(client: Any, limits: Limits | None = None) -> DynamoPostLimit:
    """One container's view of the deployment's credential."""
    return DynamoPostLimit(
        client, CLAIMS_TABLE, api_url=API, identity="default", limits=limits or Limits()
    )


def sent_of(stored: dict[str, Any]) -> list[float]:
    """The reservations of a stored item: whole milliseconds, 8 bytes each, big-endian."""
    packed = stored["sent"]["B"]
    return [ms / 1000 for ms in struct.unpack(f">{len(packed) // 8}q", packed)]


def item(client: Any) -> dict[str, Any]:
    return client.get_item(
        TableName=CLAIMS_TABLE, Key={"id": {"S": rate_limit_key(API, "default")}}
    )["Item"]


def test_the_item_is_one_per_credential_and_api():
    """The key names neither the token nor the identity, and differs per API and identity."""
    key = rate_limit_key(API, "secret:ticket-router/token")
    assert key.startswith("ratelimit#")
    assert len(key) == len("ratelimit#") + 32
    assert "secret" not in key
    assert key != rate_limit_key("https://ghe.example.com/api/v3", "secret:ticket-router/token")
    assert key != rate_limit_key(API, "default")


def test_two_containers_share_the_log_and_the_hold(dynamodb):
    """A turn one container took and a hold it recorded are the other's too."""
    one, other = shared(dynamodb, Limits(2, 0)), shared(dynamodb, Limits(2, 0))
    assert one.reserve(T, T + 60) == T
    # Two a minute, spread: one in any 7.5 s.
    assert other.reserve(T + 1, T + 60) == T + 7.5
    assert one.reserve(T + 2, T + 60) == T + 60
    other.hold(T + 100)
    assert one.held_until() == T + 100
    # A shorter hold never shortens it.
    one.hold(T + 50)
    assert other.held_until() == T + 100
    assert one.reserve(T + 3, T + 200) == T + 100
    stored = item(dynamodb)
    assert sent_of(stored) == [T + 60, T + 100]
    assert stored["hold_until"] == {"N": f"{T + 100:.3f}"}
    assert int(stored["expiration"]["N"]) == int(T + 100) + 86400


def test_a_turn_that_does_not_fit_is_not_written(dynamodb):
    """Told, not taken: the item keeps the turns that were."""
    limit = shared(dynamodb, Limits(1, 0))
    limit.reserve(T, T)
    assert limit.reserve(T + 1, T + 30) == T + 60
    assert item(dynamodb)["sent"]["B"] == struct.pack(">q", round(T * 1000))


class Racing:
    """A table client on which another container writes between this one's read and write."""

    def __init__(self, client: Any, rival: DynamoPostLimit) -> None:
        self._client = client
        self._rival = rival
        self.puts = 0

    def get_item(self, **kwargs: Any) -> Any:
        return self._client.get_item(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self.puts += 1
        if self.puts == 1:
            self._rival.reserve(T, T + 60)
        return self._client.put_item(**kwargs)


def test_a_lost_race_is_read_again(dynamodb):
    """The compare-and-set fails when another container reserved first: the turn is taken
    again, after the rival's."""
    racing = Racing(dynamodb, shared(dynamodb, Limits(1, 0)))
    limit = DynamoPostLimit(
        racing, CLAIMS_TABLE, api_url=API, identity="default", limits=Limits(1, 0)
    )
    assert limit.reserve(T, T + 120) == T + 60
    assert racing.puts == 2
    # One a minute: only the latest turn can count.
    assert sent_of(item(dynamodb)) == [T + 60]


class Failing:
    """A table client whose calls named in ``failing`` fail as DynamoDB's throttling does."""

    def __init__(self, client: Any, *failing: str) -> None:
        self._client = client
        self.failing = set(failing)

    def __getattr__(self, name: str) -> Any:
        if name in self.failing:

            def fail(**_: Any) -> Any:
                error = {"Error": {"Code": "ProvisionedThroughputExceededException"}}
                raise ClientError(error, name)

            return fail
        return getattr(self._client, name)


def test_a_table_that_fails_posts_nothing(dynamodb, httpserver: HTTPServer):
    """Fail closed: without the shared item a POST could fall in another container's window."""
    github = FakeGitHub(httpserver).install()
    limit = DynamoPostLimit(
        Failing(dynamodb, "get_item"),
        CLAIMS_TABLE,
        api_url=API,
        identity="default",
        limits=Limits(),
    )
    client = GitHubClient(
        "t", deadline=Deadline.never(), api_url=httpserver.url_for("/"), limit=limit
    )
    with pytest.raises(TicketRouterError) as caught:
        client.create_comment("example-org/app", 7, "x")
    assert (caught.value.reason, caught.value.transient, caught.value.detail) == (
        Reason.RATE_LIMIT_STORE_UNAVAILABLE,
        True,
        "the GitHub rate limit shared in the claims table cannot be read or written "
        "(ProvisionedThroughputExceededException): not posted",
    )
    assert github.requests["POST"] == 0


def test_a_hold_that_cannot_be_shared_still_holds_its_container(dynamodb, logged):
    """The table refused the hold: it is logged, and this container keeps it all the same."""
    table = Failing(dynamodb, "update_item")
    limit = DynamoPostLimit(table, CLAIMS_TABLE, api_url=API, identity="default", limits=Limits())
    limit.hold(T + 30)
    [record] = logged.records
    assert (record.levelname, record.message, record.error) == (
        "WARNING",
        "rate limit hold not shared",
        "ProvisionedThroughputExceededException",
    )
    table.failing.clear()
    assert limit.reserve(T, T + 60) == T + 30
    assert shared(dynamodb).reserve(T, T + 60) == T + 30


# --- GitHub clients of two containers, against the loopback GitHub.


def client_of(
    server: HTTPServer,
    limit: Any,
    clock: Clock,
    seconds: float,
    sleep: Callable[[float], None] | None = None,
) -> GitHubClient:
    """A client in an invocation with ``seconds`` left."""
    return GitHubClient(
        "t",
        deadline=Deadline.within(seconds, clock),
        api_url=server.url_for("/"),
        clock=clock,
        sleep=sleep or clock.sleep,
        limit=limit,
    )


def post_times(github: FakeGitHub) -> list[float]:
    return [at for at, method, _ in github.log if method == "POST"]


def test_no_container_posts_in_a_window_another_was_given(dynamodb, httpserver: HTTPServer):
    """Container A gets a 429 with retry-after 30; B, asking a second later, posts only once
    the window is over, and C, which cannot wait that long, posts nothing."""
    clock = Clock()
    github = FakeGitHub(httpserver, clock=clock).install()
    github.limited_next.append(30)
    a = client_of(httpserver, shared(dynamodb), clock, 20.0)
    with pytest.raises(GitHubError) as caught:
        a.create_comment("example-org/app", 7, "from a")
    assert (caught.value.reason, caught.value.retry_after) == (Reason.RATE_LIMITED, 30.0)
    clock.now += 1
    b = client_of(httpserver, shared(dynamodb), clock, 60.0)
    c = client_of(httpserver, shared(dynamodb), clock, 20.0)
    with pytest.raises(GitHubError) as caught:
        c.create_comment("example-org/app", 7, "from c")
    assert (caught.value.reason, caught.value.retry_after) == (Reason.RATE_LIMITED, 29.0)
    assert caught.value.detail == (
        "GitHub's rate limit holds until 2026-11-23T08:54:30Z; example-org/app#7 not posted "
        "(no request made)"
    )
    b.create_comment("example-org/app", 7, "from b")
    assert post_times(github) == [T, T + 30]
    assert [c.body for c in github.comments] == ["from b"]
    assert clock.slept == [29.0]


def test_a_hold_recorded_while_waiting_for_a_turn_is_waited_out(dynamodb, httpserver: HTTPServer):
    """B sleeps towards its turn; meanwhile A is given a window: B waits that out too."""
    clock = Clock()
    github = FakeGitHub(httpserver, clock=clock).install()
    limits = Limits(2, 0)
    a = shared(dynamodb, limits)
    assert a.reserve(T - 50, T) == T - 50
    assert a.reserve(T - 50, T) == T - 42.5

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 1:
            a.hold(T + 40)

    b = client_of(httpserver, shared(dynamodb, limits), clock, 120.0, sleep)
    b.create_comment("example-org/app", 7, "from b")
    assert clock.slept == [10.0, 30.0]
    assert post_times(github) == [T + 40]


def test_the_81st_post_waits_for_its_turn(dynamodb, httpserver: HTTPServer):
    """80 comments in a minute, ten every 7.5 s; the 81st a minute after the first, each wait
    slept for."""
    clock = Clock()
    github = FakeGitHub(httpserver, clock=clock).install()
    limit = shared(dynamodb)
    for n in range(81):
        client_of(httpserver, limit, clock, 90.0).create_comment("example-org/app", 7, f"{n}")
    assert post_times(github) == [T + 7.5 * (n // 10) for n in range(80)] + [T + 60]
    assert clock.slept == [7.5] * 8


def test_the_hour_limit_fails_what_cannot_wait(dynamodb, httpserver: HTTPServer):
    """3 a minute (one in any 7.5 s), 5 an hour: two minutes of posts, then the sixth is an
    hour's wait away, rate-limited with no request made and the retry-after to wait."""
    clock = Clock()
    github = FakeGitHub(httpserver, clock=clock).install()
    limit = shared(dynamodb, Limits(3, 5))
    for n in range(5):
        client_of(httpserver, limit, clock, 90.0).create_comment("example-org/app", 7, f"{n}")
    assert post_times(github) == [T, T + 7.5, T + 15, T + 60, T + 67.5]
    with pytest.raises(GitHubError) as caught:
        client_of(httpserver, limit, clock, 90.0).create_comment("example-org/app", 7, "6")
    assert (caught.value.reason, caught.value.transient, caught.value.retry_after) == (
        Reason.RATE_LIMITED,
        True,
        3532.5,
    )
    assert github.requests["POST"] == 5
