"""GitHub's limits on content-creating requests, one per credential and shared by every container
that posts with it: a sliding log of the moments reserved for POSTs, and ``hold_until``, the end
of the latest retry-after window GitHub gave any of them. Pure values and functions; the state
lives in a store (MemoryPostLimit here, handler.aws.rate_limit in DynamoDB).

https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Protocol

# GitHub: "No more than 80 content-generating requests per minute and no more than 500
# content-generating requests per hour".
DEFAULT_PER_MINUTE = 80
DEFAULT_PER_HOUR = 500
# The minute's limit also holds for each eighth of it: at most 10 POSTs in any 7.5 s.
SPREAD = 8


@dataclass(frozen=True)
class Limits:
    """At most ``per_minute`` POSTs in any 60 s and ``per_hour`` in any 3600 s; 0 turns that
    limit off."""

    per_minute: int = DEFAULT_PER_MINUTE
    per_hour: int = DEFAULT_PER_HOUR

    @classmethod
    def parse(cls, per_minute: str | None, per_hour: str | None) -> Limits:
        """The limits from their settings' text (GITHUB_POSTS_PER_MINUTE, GITHUB_POSTS_PER_HOUR):
        unset or empty is GitHub's documented limit; anything but a whole number >= 0 is a
        ValueError naming the setting."""
        return cls(
            _count("GITHUB_POSTS_PER_MINUTE", per_minute, DEFAULT_PER_MINUTE),
            _count("GITHUB_POSTS_PER_HOUR", per_hour, DEFAULT_PER_HOUR),
        )

    @property
    def windows(self) -> tuple[tuple[int, float], ...]:
        """(count, seconds) of each limit that is on, the minute's also for each eighth of it.

        The eighths spread a backlog evenly: with the whole minute alone, 80 POSTs would go at
        once and the 81st wait a full minute, longer than an invocation can, so that every mail
        after the first 80 would go back to the queue instead of waiting its turn. The hour is
        not spread: 500 would then be 63 every 7.5 minutes, and a burst of 100 would take 12.
        """
        windows: list[tuple[int, float]] = []
        if self.per_minute:
            windows += [(self.per_minute, 60.0), (math.ceil(self.per_minute / SPREAD), 60 / SPREAD)]
        if self.per_hour:
            windows.append((self.per_hour, 3600.0))
        return tuple(windows)


def _count(name: str, text: str | None, default: int) -> int:
    value = (text or "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number of POSTs (0: no limit), not {text!r}")
    return int(value)


@dataclass(frozen=True)
class RateState:
    """What the limit remembers of a credential."""

    # Moments reserved for POSTs (epoch seconds), oldest first; each is at or after the one
    # before, so only the latest ``count`` can fill a window.
    sent: tuple[float, ...] = ()
    # No POST before this moment: the latest retry-after window GitHub gave.
    hold_until: float = 0.0


def earliest(state: RateState, limits: Limits, now: float) -> float:
    """The first moment, from ``now``, at which a POST may be sent: after the hold, not before
    the latest reservation (they are taken in turn), and with room in every window."""
    moment = max(now, state.hold_until, state.sent[-1] if state.sent else now)
    for count, seconds in limits.windows:
        if len(state.sent) >= count:
            moment = max(moment, state.sent[-count] + seconds)
    return moment


def reserved(state: RateState, limits: Limits, moment: float) -> RateState:
    """``state`` with ``moment`` reserved (``earliest`` gave it), less the reservations no limit
    can count any more: beyond the largest count, or a whole largest window before ``moment``."""
    windows = limits.windows
    if not windows:
        return RateState((), state.hold_until)
    keep = max(count for count, _ in windows)
    span = max(seconds for _, seconds in windows)
    sent = (*state.sent, moment)[-keep:]
    return RateState(tuple(t for t in sent if t > moment - span), state.hold_until)


def held(state: RateState, until: float) -> RateState:
    """``state`` holding every POST until ``until`` at least."""
    return RateState(state.sent, max(state.hold_until, until))


class PostLimit(Protocol):
    """One credential's limit, as the GitHub client takes its turns."""

    def reserve(self, now: float, latest: float) -> float:
        """The earliest moment from ``now`` at which a POST may be sent, reserved for the caller
        when it is no later than ``latest``; a later one is only told (nothing is reserved)."""
        ...

    def hold(self, until: float) -> None:
        """GitHub said to wait until ``until``: nobody posts with the credential before then."""
        ...

    def held_until(self) -> float:
        """The latest hold any container has recorded, as the store says now."""
        ...


class MemoryPostLimit:
    """The limit in this process only: the CLI without a table, and tests."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        self._state = RateState()
        self._lock = threading.Lock()

    def reserve(self, now: float, latest: float) -> float:
        with self._lock:
            moment = earliest(self._state, self._limits, now)
            if moment <= latest:
                self._state = reserved(self._state, self._limits, moment)
            return moment

    def hold(self, until: float) -> None:
        with self._lock:
            self._state = held(self._state, until)

    def held_until(self) -> float:
        return self._state.hold_until
