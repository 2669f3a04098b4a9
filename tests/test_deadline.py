"""The deadline handed down an invocation instead of remaining-time callbacks."""

import math

from handler.deadline import Deadline


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_remaining_counts_down_on_the_given_clock_and_stops_at_zero():
    """Time left is measured on the deadline's own clock and never goes negative."""
    clock = Clock()
    deadline = Deadline.within(5.0, clock)
    clock.now = 103.5
    assert deadline.remaining() == 1.5
    assert deadline.get_remaining_time_in_millis() == 1500
    clock.now = 200.0
    assert deadline.remaining() == 0.0


def test_never_has_no_end():
    """A deadline that bounds nothing reports infinite time, and Lambda's largest int to
    libraries that want milliseconds."""
    assert math.isinf(Deadline.never().remaining())
    assert Deadline.never().get_remaining_time_in_millis() == 2**31 - 1


def test_of_lambda_takes_the_context_time_left():
    """A Lambda context's remaining milliseconds become the deadline."""

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 4000

    clock = Clock()
    assert Deadline.of_lambda(Context(), clock) == Deadline(104.0)
