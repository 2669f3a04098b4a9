"""Complexity guards that cannot flake on a busy machine: growth, not seconds.

A guard runs the same work on inputs of size n and 8n in one run and compares the CPU time this
thread spent on each (``time.thread_time``: other processes and threads do not count), the best
of a few tries. Linear work grows about 8x; quadratic work grows 64x. The bound sits between, with
room for the noise a shared machine adds.

Work done line by line on lines of bounded length is linear in the number of lines whatever it
does within a line, so a second guard keeps the total size and makes the lines 8x longer.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

SCALE = 8
# Linear grows ~8x (less, with fixed costs); quadratic 64x.
MAX_GROWTH = 24.0
# The same total size in lines 8x longer: work linear in a line's length costs no more (fewer
# lines, less overhead per line); work quadratic in it costs up to 8x more.
MAX_LINE_GROWTH = 1.5
TRIES = 3


def growth(work: Callable[[int], object], n: int) -> float:
    """How many times more CPU ``work(8n)`` takes than ``work(n)``, the best of a few tries."""
    small, large = (_best(work, size) for size in (n, SCALE * n))
    return large / max(small, 1e-6)


def _best(work: Callable[[int], object], size: int) -> float:
    spent = []
    for _ in range(TRIES):
        # A collection that happens to fall in one run, and not the other, is no part of the
        # work's own cost.
        gc.collect()
        gc.disable()
        try:
            start = time.thread_time()
            work(size)
            spent.append(time.thread_time() - start)
        finally:
            gc.enable()
    return min(spent)
