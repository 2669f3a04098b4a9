"""The growth guard itself: it must tell linear work from quadratic work."""

from __future__ import annotations

from tests.complexity import MAX_GROWTH, growth


def test_linear_work_passes_the_guard():
    """Summing n numbers grows about eightfold from n to 8n."""
    assert growth(lambda size: sum(range(size)), 200_000) < MAX_GROWTH


def test_quadratic_work_fails_the_guard():
    """Comparing every pair of n items grows about 64-fold: the guard would catch it."""

    def pairs(size: int) -> int:
        items = range(size)
        return sum(1 for a in items for b in items if a < b)

    assert growth(pairs, 150) > MAX_GROWTH
