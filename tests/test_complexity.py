"""The growth guard itself: it must tell linear work from quadratic work."""

from __future__ import annotations

from tests.complexity import MAX_GROWTH, MAX_LINE_GROWTH, growth


def test_linear_work_passes_the_guard():
    """Summing n numbers grows about eightfold from n to 8n."""
    assert growth(lambda size: sum(range(size)), 200_000) < MAX_GROWTH


def test_quadratic_work_fails_the_guard():
    """Comparing every pair of n items grows about 64-fold: the guard would catch it."""

    def pairs(size: int) -> int:
        items = range(size)
        return sum(1 for a in items for b in items if a < b)

    assert growth(pairs, 150) > MAX_GROWTH


def lines(length: int, total: int = 24_000) -> list[str]:
    return ["x" * length] * (total // length)


def test_work_linear_in_each_line_passes_the_line_guard():
    """Counting each line's characters costs no more when the same total is in longer lines."""
    assert growth(lambda length: sum(line.count("x") for line in lines(length)), 50) < (
        MAX_LINE_GROWTH
    )


def test_work_quadratic_in_each_line_fails_the_line_guard():
    """Comparing every pair of characters of each line costs 8x more in lines 8x longer."""

    def pairs(length: int) -> int:
        return sum(1 for line in lines(length) for a in line for b in line if a <= b)

    assert growth(pairs, 50) > MAX_LINE_GROWTH
