"""How long the work in hand may still take: one value handed down, instead of callbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class LambdaClock(Protocol):
    """What a Lambda context says about time."""

    def get_remaining_time_in_millis(self) -> int: ...


@dataclass(frozen=True)
class Deadline:
    """A moment on a monotonic clock (the wall clock may jump) after which no work may start."""

    at: float
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def within(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def never(cls) -> Deadline:
        """No limit: tests, and callers that bound nothing."""
        return cls(math.inf)

    @classmethod
    def of_lambda(
        cls, context: LambdaClock, clock: Callable[[], float] = time.monotonic
    ) -> Deadline:
        """The invocation's own end, as its context tells it."""
        return cls.within(context.get_remaining_time_in_millis() / 1000, clock)

    def remaining(self) -> float:
        """Seconds left, never below 0; infinite for ``never``."""
        return max(0.0, self.at - self.clock())

    def get_remaining_time_in_millis(self) -> int:
        """The Lambda context's view of it, for libraries that read one (Powertools)."""
        left = self.remaining()
        return 2**31 - 1 if math.isinf(left) else int(left * 1000)
