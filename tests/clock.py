"""A test's time: one clock for the wall (epoch seconds) and for deadlines, moved only by the
sleeps handed to the code under test, which records them."""

from __future__ import annotations

from collections.abc import Callable

# 2026-11-23T08:54:00Z
T = 1_795_424_040.0


class Clock:
    """Wall and monotonic time in one; ``after_sleep`` runs once the clock has moved (GitHub
    doing something meanwhile)."""

    def __init__(self, now: float = T) -> None:
        self.now = now
        self.slept: list[float] = []
        self.after_sleep: Callable[[], None] | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        if self.after_sleep is not None:
            self.after_sleep()
